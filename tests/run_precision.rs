//! Issue 19 item 5: a run answers on its base as it trained. A LoRA run on a quantised GGUF base
//! trains (and evaluates, and exports for PEFT) on the dequantised weights; `chat --run` loaded the
//! base quantised and its greedy answers drifted from PEFT's at near-ties. Here the model chat loads
//! for a run must give the same next-token logits as evaluation's (the run as it ended, on the
//! plan's base), and `--quantised` must really be the other, approximate path (else the first
//! check could pass with both on the quantised weights).
//!
//! tests/reference/chat_run_vs_peft.py checks the same against PEFT with SmolLM2-135M (not CI).

use candle_core::{Device, Tensor};
use tunesmith::chat::{AnswerOptions, ChatRequest};
use tunesmith::home::Home;
use tunesmith::run::{find_run, TrainPlan, TrainRequest};
use tunesmith::session::DecoderSession;
use tunesmith::train::CancelHandle;
use tunesmith_engine::export::{write_gguf, DecoderWeights, GgufType};
use tunesmith_engine::train::Method;

/// The next-token logits of `model` after the chat prompt for `question`, its last token read on
/// its own as generation reads every new token (one row: where a quantised base runs its quantised
/// kernel; from a few rows on it computes with the weights dequantised, which equal the exact path).
fn next_logits(model: &DecoderSession, question: &str) -> Vec<f32> {
    let ids = model.prompt_ids(None, question).unwrap();
    let tensor = |ids: &[u32]| {
        Tensor::new(ids, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
    };
    let (head, last) = ids.split_at(ids.len() - 1);
    let mut cache = model.model().new_cache();
    model
        .model()
        .forward_cached(&tensor(head), &mut cache)
        .unwrap();
    model
        .model()
        .forward_cached(&tensor(last), &mut cache)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn chat_with_a_run_on_a_quantised_gguf_answers_on_the_base_as_it_trained_and_quantised_only_when_asked(
) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home")).unwrap();
    // The tiny Llama as a Q8_0 GGUF: a base that answers differently quantised and dequantised.
    let gguf = dir.path().join("tiny-llama-q8.gguf");
    let folder = tunesmith_testkit::paths::fixtures_dir().join("tiny-llama");
    write_gguf(
        &gguf,
        &DecoderWeights::load_base(&folder).unwrap(),
        GgufType::Q8_0,
        "tiny-llama",
    )
    .unwrap();
    let data = dir.path().join("codes.csv");
    let mut rows = String::from("prompt,response\n");
    for i in 0..12 {
        rows.push_str(&format!("What is code {i}?,Code {i} is {}.\n", 100 + i));
    }
    std::fs::write(&data, rows).unwrap();
    let mut req = TrainRequest::new(
        gguf.clone(),
        data,
        tunesmith::data::Task::Generate,
        Method::Lora,
    );
    req.prompt_column = Some("prompt".into());
    req.response_column = Some("response".into());
    req.epochs = Some(1);
    req.max_len = Some(32);
    let run_id = tunesmith::train::train(&home, &req, CancelHandle::new(), &mut |_| {})
        .unwrap()
        .run_id;

    let chat_request = |quantised: bool| ChatRequest {
        model: None,
        run: Some(run_id.clone()),
        rag: None,
        passages: 3,
        prompt: "What is code 3?".into(),
        options: AnswerOptions::default(),
        quantised,
        max_tokens: None,
        fit_to: None,
    };
    let run = find_run(&home, &run_id).unwrap();
    let plan = TrainPlan::of_run(&run);
    let evaluated = DecoderSession::of_run(&home, &run, &plan, &Device::Cpu).unwrap();
    let chat = tunesmith::chat::open_model(&home, &chat_request(false)).unwrap();
    let quantised = tunesmith::chat::open_model(&home, &chat_request(true)).unwrap();

    for question in ["What is code 3?", "What is code 11?", "Hello"] {
        let want = next_logits(&evaluated, question);
        let exact = max_abs_diff(&next_logits(&chat, question), &want);
        let approx = max_abs_diff(&next_logits(&quantised, question), &want);
        assert!(
            exact <= 1e-6,
            "{question:?}: chat's logits differ from evaluation's by {exact}"
        );
        assert!(
            approx > 1e-6,
            "{question:?}: --quantised gave evaluation's logits (diff {approx}): it is not the quantised path"
        );
    }
}
