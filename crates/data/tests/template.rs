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
