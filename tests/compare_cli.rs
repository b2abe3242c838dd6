//! `tunesmith compare` as a user runs it: offline over the tiny Llama fixture (base against a
//! fine-tuned run whose PEFT adapter is recorded in the history; results saved back into it), bad
//! question files, and in the real tier SmolLM2 base against base + RAG over the committed question
//! set's first questions (skips when the model is absent).

use std::path::Path;

use serde_json::{json, Value};
use tunesmith_store::{ArtefactKind, NewRun, Store, DATABASE_FILE};

use crate::chat_cli::{smollm2, tiny_llama, tunesmith};

fn report(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn write_questions(dir: &Path, rows: &[(&str, &str)]) -> String {
    let path = dir.join("questions.csv");
    let mut text = String::from("question,answer\n");
    for (q, a) in rows {
        text.push_str(&format!("\"{q}\",\"{a}\"\n"));
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A finished LoRA run on the tiny Llama whose adapter is the fixture's PEFT adapter, with the
/// `run.json` a trained run has (compare reads the run's base from its plan).
fn lora_run(home: &Path) -> String {
    lora_run_on(home, "questions.csv")
}

/// [`lora_run`] trained (as its history says) on the data file `dataset_ref`.
fn lora_run_on(home: &Path, dataset_ref: &str) -> String {
    let store = Store::open(&home.join(DATABASE_FILE), &home.join("runs")).unwrap();
    let run = store
        .create_run(&NewRun {
            name: Some("tiny lora".into()),
            task: "generate".into(),
            method: "lora".into(),
            model_id: None,
            model_ref: tiny_llama(),
            dataset_id: None,
            dataset_ref: dataset_ref.into(),
            data_fingerprint: None,
            config: json!({"lora": {"r": 4}}),
            device: "cpu".into(),
            hardware: json!({}),
            versions: json!({}),
            seed: 1,
            split: json!({}),
            primary_metric: None,
            parent_run: None,
        })
        .unwrap();
    let request = ::tunesmith::run::TrainRequest::new(
        tiny_llama().into(),
        dataset_ref.into(),
        tunesmith_data::Task::Generate,
        tunesmith_engine::train::Method::Lora,
    );
    ::tunesmith::run::RunManifest {
        run_id: run.id.clone(),
        request,
        config: tunesmith_engine::train::TrainConfig::default(),
        labels: Vec::new(),
        fingerprint: String::new(),
        split_sizes: [0; 3],
        split_seed: 1,
        split_fingerprint: String::new(),
        split_fractions: Vec::new(),
        device: "cpu".into(),
        schedule: None,
        activation_checkpointing: false,
    }
    .write(&store.run_dir(&run.id))
    .unwrap();
    let adapter = store.run_dir(&run.id).join("adapter");
    std::fs::create_dir_all(&adapter).unwrap();
    let fixture = tunesmith_testkit::paths::fixtures_dir().join("tiny-llama/lora-adapter");
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(fixture.join(f), adapter.join(f)).unwrap();
    }
    store
        .record_artefact(&run.id, ArtefactKind::Adapter, &adapter, None)
        .unwrap();
    run.id
}

#[test]
fn compare_scores_base_against_a_fine_tuned_run_and_saves_the_result_in_its_history() {
    let home = tempfile::tempdir().unwrap();
    let run = lora_run(home.path());
    let questions = write_questions(
        home.path(),
        &[
            ("fkq", "a b"),
            ("Hello there", "hello"),
            ("What?", "nothing"),
        ],
    );
    let r = report(&tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            &questions,
            "--run",
            &run,
            "--max-tokens",
            "6",
            "--json",
        ],
    ));
    let configs: Vec<&str> = r["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["configuration"].as_str().unwrap())
        .collect();
    assert_eq!(configs, ["base", "fine_tuned"]);
    for c in r["configurations"].as_array().unwrap() {
        for m in [
            "exact_match",
            "token_f1",
            "rouge_l",
            "bleu",
            "mean_answer_tokens",
            "mean_latency_s",
        ] {
            assert!(c[m].as_f64().is_some(), "{m} in {c:#}");
        }
        assert!(c["mean_answer_tokens"].as_f64().unwrap() > 0.0);
    }
    let qs = r["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 3);
    assert_eq!(qs[1]["reference"], "hello");
    assert_eq!(qs[1]["answers"].as_array().unwrap().len(), 2);
    let differs = qs
        .iter()
        .any(|q| q["answers"][0]["text"] != q["answers"][1]["text"]);
    assert!(differs, "the adapter changes at least one answer: {qs:#?}");
    assert!(
        r["verdict"]["text"].as_str().unwrap().contains("token F1"),
        "{:#}",
        r["verdict"]
    );

    assert!(Path::new(r["saved"].as_str().unwrap()).is_file());
    let store = Store::open(&home.path().join(DATABASE_FILE), &home.path().join("runs")).unwrap();
    let evals = store.evaluations(&run).unwrap();
    assert_eq!(evals.len(), 2);
    assert_eq!(evals[0].rows, 3);
    assert!(store.notes(&run).unwrap()[0]
        .text
        .contains(r["verdict"]["text"].as_str().unwrap()));
}

#[test]
fn issue_18_compare_fits_the_answer_length_to_the_training_answers_and_a_quick_check_answers_fewer_questions(
) {
    let home = tempfile::tempdir().unwrap();
    // 19 answers of about 30 words and one of 600: the fitted length follows the many, not the one.
    let train = home.path().join("train.csv");
    let mut text = String::from("prompt,response\n");
    for i in 0..19 {
        text.push_str(&format!(
            "\"q{i}\",\"{}\"\n",
            "the clinic opens at nine ".repeat(6)
        ));
    }
    text.push_str(&format!("\"long\",\"{}\"\n", "word ".repeat(600)));
    std::fs::write(&train, text).unwrap();
    let run = lora_run_on(home.path(), train.to_str().unwrap());
    let rows: Vec<(String, String)> = (1..=6)
        .map(|i| (format!("Question {i}?"), format!("Answer {i}")))
        .collect();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(q, a)| (q.as_str(), a.as_str())).collect();
    let questions = write_questions(home.path(), &rows);

    let out = tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            &questions,
            "--run",
            &run,
            "--max-questions",
            "2",
            "--json",
        ],
    );
    let r = report(&out);
    let length = &r["answer_length"];
    let max = length["max_tokens"].as_u64().unwrap();
    assert!((24..256).contains(&max), "{length:#}");
    assert!(
        length["basis"]
            .as_str()
            .unwrap()
            .starts_with("the 95th percentile of 20 training answers"),
        "{length:#}"
    );
    let qs = r["questions"].as_array().unwrap();
    assert_eq!(
        qs.len(),
        2,
        "a quick check answers only the questions asked for"
    );
    assert_eq!(
        (qs[0]["line"].as_u64(), qs[1]["line"].as_u64()),
        (Some(2), Some(5))
    );
    assert_eq!(r["questions_in_file"], 6);
    for q in qs {
        for a in q["answers"].as_array().unwrap() {
            assert!(a["tokens"].as_u64().unwrap() <= max, "{a:#}");
        }
    }
    // Progress counts answers over the whole comparison.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 of 4 answers"), "{err}");

    // Without a run the reference answers set the length; --quick takes the quick-check size.
    let out = tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            &questions,
            "--model",
            &tiny_llama(),
            "--quick",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("5 questions (a quick check: of 6)"), "{text}");
    assert!(
        text.contains("Answers up to 24 tokens: the 95th percentile of 5 reference answers"),
        "{text}"
    );
}

/// The `done` event of `tunesmith chat --json` with `args`.
fn chat_done(home: &Path, args: &[&str]) -> Value {
    let out = tunesmith(home, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let v: Value = serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(v["event"], "done", "{v:#}");
    v
}

#[test]
fn issue_18_one_question_gets_the_answer_length_the_question_set_gets_and_says_which() {
    let home = tempfile::tempdir().unwrap();
    let train = home.path().join("train.csv");
    let mut text = String::from("prompt,response\n");
    for i in 0..19 {
        text.push_str(&format!(
            "\"q{i}\",\"{}\"\n",
            "the clinic opens at nine ".repeat(6)
        ));
    }
    text.push_str(&format!("\"long\",\"{}\"\n", "word ".repeat(600)));
    std::fs::write(&train, text).unwrap();
    let run = lora_run_on(home.path(), train.to_str().unwrap());
    let questions = write_questions(home.path(), &[("Question 1?", "Answer 1")]);
    let set = report(&tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            &questions,
            "--run",
            &run,
            "--json",
        ],
    ));
    let fitted = &set["answer_length"];
    assert!(fitted["basis"]
        .as_str()
        .unwrap()
        .starts_with("the 95th percentile of 20 training answers"));

    // The run's own answer, and the base model's beside it (--fit-to), use the set's length.
    let tuned = chat_done(
        home.path(),
        &["chat", "--run", &run, "--prompt", "Question 1?", "--json"],
    );
    assert_eq!(&tuned["answer_length"], fitted, "{tuned:#}");
    assert!(tuned["tokens"].as_u64().unwrap() <= fitted["max_tokens"].as_u64().unwrap());
    let base = chat_done(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--fit-to",
            &run,
            "--prompt",
            "Question 1?",
            "--json",
        ],
    );
    assert_eq!(&base["answer_length"], fitted, "{base:#}");

    // A length the user names is used as given; with no run there is nothing to fit to, and the
    // answer says so.
    let named = chat_done(
        home.path(),
        &[
            "chat",
            "--run",
            &run,
            "--prompt",
            "Hi",
            "--max-tokens",
            "5",
            "--json",
        ],
    );
    assert_eq!(
        named["answer_length"],
        json!({"max_tokens": 5, "basis": "the length asked for"})
    );
    let alone = chat_done(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--prompt",
            "Hi",
            "--max-tokens",
            "3",
            "--json",
        ],
    );
    assert_eq!(alone["answer_length"]["max_tokens"], 3);
    let out = tunesmith(
        home.path(),
        &["chat", "--model", &tiny_llama(), "--prompt", "fkq"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-- answers up to 256 tokens (the longest default: no fine-tuned run's training answers to fit a length to"),
        "{text}"
    );

    // A run that does not exist to fit to is named in the error.
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--fit-to",
            "no-such-run",
            "--prompt",
            "Hi",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-run"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compare_prints_a_table_and_a_verdict_for_people() {
    let home = tempfile::tempdir().unwrap();
    let questions = write_questions(home.path(), &[("fkq", "a b")]);
    let out = tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            &questions,
            "--model",
            &tiny_llama(),
            "--max-tokens",
            "4",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("token F1") && text.contains("ROUGE-L") && text.contains("BLEU"),
        "{text}"
    );
    assert!(text.contains("Only base was evaluated"), "{text}");
}

#[test]
fn a_question_file_without_an_answer_column_is_refused_with_its_columns_listed() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("q.csv");
    std::fs::write(&path, "question,notes\nWhy?,none\n").unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            path.to_str().unwrap(),
            "--model",
            &tiny_llama(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("answer") && err.contains("question, notes"),
        "{err}"
    );
}

#[test]
fn smollm2_with_rag_is_compared_with_the_base_over_the_committed_questions() {
    let Some(model) = smollm2() else { return };
    let home = tempfile::tempdir().unwrap();
    let root = tunesmith_testkit::paths::repo_root().join("assets/rag-sample");
    let docs = root.join("documents");
    let index = tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "clinic",
            docs.to_str().unwrap(),
            "--embed-model",
            "none",
            "--json",
        ],
    );
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    // The committed set's first three questions keep this tier's time down (every answer is a
    // generation on the CPU); `tunesmith compare --questions assets/rag-sample/questions.csv` runs all.
    let all = std::fs::read_to_string(root.join("questions.csv")).unwrap();
    let subset: Vec<&str> = all.lines().take(4).collect();
    let questions = home.path().join("questions.csv");
    std::fs::write(&questions, subset.join("\n") + "\n").unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "compare",
            "--questions",
            questions.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--rag",
            "clinic",
            "--top-k",
            "1",
            "--max-tokens",
            "24",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("base + documents"), "{text}");
    assert!(text.contains("over 3 questions"), "{text}");
    eprintln!("{text}");
}
