//! Retrieval with the real sentence encoder, all-MiniLM-L6-v2 (skipped when it has not been fetched
//! with scripts/fetch-models): the engine's BERT with the model folder's pooling recipe reproduces
//! sentence-transformers' vectors, and over the committed sample documents the passage holding the
//! answer ranks first for at least 9 of the 10 committed questions.

use std::path::PathBuf;

use tunesmith::home::Home;
use tunesmith::rag::{IndexRequest, SearchMode, SentenceEncoder};
use tunesmith_rag::Embedder;

const MODEL: &str = "all-MiniLM-L6-v2";

fn sample() -> PathBuf {
    tunesmith_testkit::paths::repo_root().join("assets/rag-sample")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_sentence_encoder_matches_sentence_transformers_for_minilm() {
    let Some(dir) = tunesmith_testkit::paths::real_model(MODEL) else {
        return;
    };
    let encoder = SentenceEncoder::from_dir(&dir, MODEL.to_string()).unwrap();
    let v = encoder
        .embed(&["This is an example sentence", "Each sentence is converted"])
        .unwrap();
    // transformers + mean pooling + normalisation (FIELD-NOTES).
    tunesmith_testkit::assert_close(
        &v[0][..5],
        &[0.06766, 0.06350, 0.04871, 0.07930, 0.03745],
        2e-4,
        0.0,
    );
    assert_eq!(v[0].len(), 384);
    let norm: f32 = v[1].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    // A padded batch gives each row what it gets alone.
    let alone = encoder.embed(&["Each sentence is converted"]).unwrap();
    tunesmith_testkit::assert_close(&v[1], &alone[0], 1e-5, 0.0);
}

#[test]
fn the_answer_passage_ranks_first_for_at_least_9_of_10_sample_questions_with_minilm() {
    let Some(dir) = tunesmith_testkit::paths::real_model(MODEL) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path().to_path_buf()).unwrap();
    let request = IndexRequest {
        name: "clinic".into(),
        paths: vec![sample().join("documents")],
        embed_model: Some(dir.display().to_string()),
        chunk_tokens: None,
        overlap_tokens: None,
        max_file_bytes: None,
        allow_download: false,
    };
    let report = tunesmith::rag::index(&home, &request, &mut |_| {}).unwrap();
    assert_eq!(report.documents, 13, "{report:#?}");

    let mut questions = csv_rows(&sample().join("questions.csv"));
    let mut first = 0;
    let mut misses = Vec::new();
    for row in questions.drain(..) {
        let (question, source, quote) = (&row[0], &row[2], &row[3]);
        let result =
            tunesmith::rag::query(&home, "clinic", question, 3, SearchMode::Hybrid).unwrap();
        let top = &result.passages[0];
        if top.source.ends_with(source.as_str()) && squash(&top.text).contains(&squash(quote)) {
            first += 1;
        } else {
            misses.push(format!(
                "{question} -> {} {}: {}",
                top.source, top.location, top.text
            ));
        }
    }
    eprintln!("MiniLM hybrid: {first}/10 answer passages ranked first");
    assert!(first >= 9, "{first}/10; misses:\n{}", misses.join("\n"));
}

fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    // The questions file is simple: a header and quoted fields without embedded newlines.
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(split_csv_line)
        .collect()
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                out.last_mut().unwrap().push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}
