//! Chat templates from a model's tokenizer_config.json turn generation rows into training text.

use std::path::PathBuf;

use tunesmith_data::{Content, Dataset, InspectOptions, ModelText};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/files")
        .join(name)
}

#[test]
fn question_answer_rows_become_the_models_chat_text_with_the_prompt_as_a_prefix() {
    let model = ModelText::load(&file("tiny-model")).unwrap();
    let template = model
        .chat_template
        .as_ref()
        .expect("tokenizer_config.json has a chat template");
    let d = Dataset::load(
        &file("qa.csv"),
        &InspectOptions::default(),
        Some(&model),
        &mut |_| {},
    )
    .unwrap();
    let Content::Chat { messages } = &d.examples[0].content else {
        panic!("{:?}", d.examples[0])
    };
    let t = template.training_text(messages).unwrap();
    assert_eq!(t.prompt, "user: What is Tunesmith?\nassistant:");
    assert_eq!(
        t.full,
        "user: What is Tunesmith?\nassistant: A fine-tuning app.\n"
    );
    assert!(t.full.starts_with(&t.prompt));
}

#[test]
fn alpaca_rows_with_a_system_column_keep_the_system_turn() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sys.jsonl");
    std::fs::write(
        &p,
        "{\"system\": \"Be short.\", \"instruction\": \"Say hi\", \"output\": \"hi\"}\n",
    )
    .unwrap();
    let d = Dataset::load(&p, &InspectOptions::default(), None, &mut |_| {}).unwrap();
    let Content::Chat { messages } = &d.examples[0].content else {
        panic!()
    };
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, vec!["system", "user", "assistant"]);
}

/// Found by the fuzz tier: a template that does not compile was refused as "the chat template
/// cannot be used: syntax error ...", naming neither the model nor the file to fix.
#[test]
fn a_chat_template_that_does_not_compile_is_refused_naming_tokenizer_config_json() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["config.json", "tokenizer.json"] {
        std::fs::copy(file("tiny-model").join(name), dir.path().join(name)).unwrap();
    }
    let config = dir.path().join("tokenizer_config.json");
    std::fs::write(
        &config,
        r#"{"chat_template": "{% for m in messages %}: {{ m.content }}"}"#,
    )
    .unwrap();
    let message = match ModelText::load(dir.path()) {
        Ok(_) => panic!("a template that does not compile was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains(&config.display().to_string()),
        "the refusal does not name the file: {message}"
    );
    assert!(
        message.contains("chat_template does not compile"),
        "{message}"
    );
    assert!(message.contains("syntax error"), "{message}");
}
