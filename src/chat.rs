//! Chat: one question answered by a decoder model (the base, or a fine-tuned run's adapter on it),
//! optionally reading passages retrieved from a document index, streamed piece by piece.
//!
//! Promises:
//! - The prompt is the model's own chat template (from `tokenizer_config.json` or the GGUF's
//!   `tokenizer.chat_template`), rendered like transformers' `apply_chat_template` with the
//!   generation prompt; a model without a template gets the plain text (system text, a blank line,
//!   the question).
//! - Generation stops on EOS and on the template's end-of-turn tokens, at `max_tokens`, at the
//!   context length, or when cancelled; greedy when the temperature is 0, otherwise seeded, so the
//!   same request gives the same answer.
//! - With RAG, the passages are numbered `[1]`, `[2]`, ... with their source in the prompt (the
//!   rag crate's `cited_prompt`), and exactly the passages the model was shown are returned. Passages
//!   that do not fit in the model's context are left out from the least relevant up; if not even one
//!   fits, that is an error, never a silent answer without them.
//! - A run is used through its PEFT adapter, applied at load (no merge), or its merged weights, on
//!   its base as it trained (a GGUF dequantised): its answers are the ones evaluation shows and
//!   PEFT gives from the exported adapter. `quantised` keeps a GGUF base in its file's
//!   quantisation instead: faster and smaller, with answers that may differ at near-ties.
//! - Every text piece reaches the caller's callback as soon as it is complete UTF-8, so the Tauri
//!   shell can forward [`ChatEvent`]s over a per-job channel; nothing here knows about Tauri.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tunesmith_engine::generate::StopReason;

/// Stops a chat or comparison before its next token.
pub use tunesmith_engine::generate::CancelHandle;

use crate::compare_length::AnswerLength;
use crate::home::Home;
use crate::rag::{cited_prompt, Passage, SearchMode};
pub use crate::session::{AnswerOptions, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE};
use crate::session::{BaseHeld, DecoderSession, RunWeights};
use crate::{Error, Result};

/// Passages retrieved for a RAG answer when none is asked for.
pub const DEFAULT_PASSAGES: usize = 3;

/// A chat request, as the CLI and the app make it.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The base model: a folder, a `.gguf` file or a cached hub id; `None` to use the run's.
    pub model: Option<String>,
    /// A fine-tuned run (id, prefix or name) whose adapter is applied.
    pub run: Option<String>,
    /// A document index to retrieve passages from.
    pub rag: Option<String>,
    /// How many passages to retrieve.
    pub passages: usize,
    /// The user's message.
    pub prompt: String,
    /// Generation settings; their `max_tokens` is replaced by the answer length [`chat`] settles
    /// on (see `max_tokens`).
    pub options: AnswerOptions,
    /// Keep a run's GGUF base in its file's quantisation (faster, approximate) instead of as the
    /// run trained on it.
    pub quantised: bool,
    /// The most tokens to generate; `None`: fitted to the training answers of `fit_to` (else of
    /// `run`), as a comparison's (see [`crate::compare_length`]).
    pub max_tokens: Option<usize>,
    /// The run whose training answers fit the length when `max_tokens` is `None` and this answer
    /// is not a run's (the base columns beside a fine-tuned one use the same length).
    pub fit_to: Option<String>,
}

/// One column of Chat & Compare as the app's form gives it, every setting but the prompt optional
/// (the defaults are this module's constants, applied by `From<ChatArgs> for ChatRequest`). Name a `model`, a `run`, or both (the run's adapter on that
/// model); `rag` adds passages from that index.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ChatArgs {
    /// The base model: a folder, a `.gguf` file or a cached hub id.
    #[specta(optional)]
    pub model: Option<String>,
    /// A fine-tuned run (id, prefix or name).
    #[specta(optional)]
    pub run: Option<String>,
    /// A document index to read passages from.
    #[specta(optional)]
    pub rag: Option<String>,
    /// The user's message.
    pub prompt: String,
    /// A system prompt (the model's default when left out).
    #[specta(optional)]
    pub system: Option<String>,
    /// The most tokens to generate (default: fitted to the training answers of `fit_to`, else
    /// `run`; 256 when there are none).
    #[specta(optional)]
    pub max_tokens: Option<u32>,
    /// The run whose training answers fit the answer length (default: `run`).
    #[specta(optional)]
    pub fit_to: Option<String>,
    /// 0 (the default) answers greedily; higher values sample more freely.
    #[specta(optional)]
    pub temperature: Option<f64>,
    /// The sampling seed (default 42).
    #[specta(optional)]
    pub seed: Option<u64>,
    /// How many passages to retrieve with `rag` (default 3).
    #[specta(optional)]
    pub passages: Option<u32>,
}

impl From<ChatArgs> for ChatRequest {
    fn from(a: ChatArgs) -> ChatRequest {
        let defaults = AnswerOptions::default();
        ChatRequest {
            model: a.model,
            run: a.run,
            rag: a.rag,
            passages: a.passages.map_or(DEFAULT_PASSAGES, |p| p as usize),
            prompt: a.prompt,
            options: AnswerOptions {
                system: a.system,
                max_tokens: DEFAULT_MAX_TOKENS,
                temperature: a.temperature.unwrap_or(defaults.temperature),
                seed: a.seed.unwrap_or(defaults.seed),
            },
            quantised: false,
            max_tokens: a.max_tokens.map(|m| m as usize),
            fit_to: a.fit_to,
        }
    }
}

/// A retrieved passage as the model was shown it: its number in the prompt and its citation.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CitedPassage {
    /// The number the prompt gives it (`[1]` is 1).
    pub number: usize,
    /// The label the prompt shows: `[1] source: clinic-hours.md, lines 3-7`.
    pub citation: String,
    /// The passage (source, location, score, text).
    #[serde(flatten)]
    pub passage: Passage,
}

/// A finished answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ChatAnswer {
    /// The whole answer.
    pub text: String,
    /// Tokens generated (the stop token not counted).
    pub tokens: usize,
    /// Answer tokens per second.
    pub tokens_per_s: f64,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Seconds spent reading the prompt.
    pub prompt_seconds: f64,
    /// Seconds spent generating.
    pub generation_seconds: f64,
    /// Why generation ended.
    pub stop: StopReason,
    /// The passages the model was shown, in prompt order (empty without RAG).
    pub passages: Vec<CitedPassage>,
    /// The answer length it was allowed, and where that came from.
    pub answer_length: AnswerLength,
}

/// What a streaming chat reports: each new piece of text, then the whole answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A new piece of the answer.
    Delta {
        /// The piece.
        text: String,
    },
    /// The answer is complete.
    Done(ChatAnswer),
}

/// Answers `question` with `model`, reading `passages` (best first) when given: as many of them
/// as fit in the context with room for the answer. Streams pieces to `on_delta`.
pub fn answer(
    model: &DecoderSession,
    question: &str,
    passages: Option<&[Passage]>,
    options: &AnswerOptions,
    cancel: Option<&CancelHandle>,
    on_delta: &mut dyn FnMut(&str),
) -> Result<ChatAnswer> {
    if question.trim().is_empty() {
        return Err(Error::Chat(
            "the prompt is empty: ask the model something".into(),
        ));
    }
    let system = options.system.as_deref();
    let (ids, shown) = match passages {
        None => (model.prompt_ids(system, question)?, Vec::new()),
        Some(all) => fit_passages(model, system, question, all, options.max_tokens)?,
    };
    let out = model.generate(&ids, options, cancel, on_delta)?;
    Ok(ChatAnswer {
        tokens_per_s: out.tokens_per_second(),
        text: out.text,
        tokens: out.tokens.len(),
        prompt_tokens: out.prompt_tokens,
        prompt_seconds: out.prompt_seconds,
        generation_seconds: out.generation_seconds,
        stop: out.stop,
        passages: shown,
        answer_length: crate::compare_length::given(options.max_tokens),
    })
}

/// The cited prompt with as many of `passages` as leave `answer_room` tokens of `model`'s context.
fn fit_passages(
    model: &DecoderSession,
    system: Option<&str>,
    question: &str,
    passages: &[Passage],
    answer_room: usize,
) -> Result<(Vec<u32>, Vec<CitedPassage>)> {
    if passages.is_empty() {
        return Err(Error::Chat(
            "the index returned no passages for this question, so there is nothing to cite; index some documents first (tunesmith rag index)".into(),
        ));
    }
    let context = model.context_length();
    let budget = context.saturating_sub(answer_room.min(context / 2));
    let mut n = passages.len();
    loop {
        let ids = model.prompt_ids(system, &cited_prompt(question, &passages[..n]))?;
        if ids.len() <= budget {
            let shown = passages[..n]
                .iter()
                .enumerate()
                .map(|(i, p)| CitedPassage {
                    number: i + 1,
                    citation: tunesmith_rag::citation(i + 1, p),
                    passage: p.clone(),
                })
                .collect();
            return Ok((ids, shown));
        }
        if n == 1 {
            return Err(Error::Chat(format!(
                "even one retrieved passage does not fit in the model's context ({context} tokens, with room for the answer): \
                 the prompt would take {} tokens. Use a model with a longer context, fewer --max-tokens, or re-index with smaller passages (--chunk-tokens)",
                ids.len()
            )));
        }
        n -= 1;
    }
}

/// The `top_k` passages of index `name` for `question`, best first (hybrid ranking).
pub fn retrieve(home: &Home, name: &str, question: &str, top_k: usize) -> Result<Vec<Passage>> {
    if top_k == 0 {
        return Err(Error::Chat(
            "the number of passages to retrieve must be at least 1".into(),
        ));
    }
    Ok(crate::rag::query(home, name, question, top_k, SearchMode::Hybrid)?.passages)
}

/// The model `request` answers with, checked against the free memory first: its run's weights on
/// the run's base as it trained (or quantised when asked), else the model it names as stored.
pub fn open_model(home: &Home, request: &ChatRequest) -> Result<DecoderSession> {
    Chosen::of(home, request)?.load(home)
}

/// The model a request names, found but not loaded yet.
struct Chosen {
    spec: String,
    run: Option<(RunWeights, BaseHeld)>,
    model: Option<String>,
}

impl Chosen {
    /// The run (found, its model on disk) or the model `request` names.
    fn of(home: &Home, request: &ChatRequest) -> Result<Chosen> {
        let Some(run) = &request.run else {
            let Some(model) = &request.model else {
                return Err(Error::Chat(
                    "name a model (--model) or a fine-tuned run (--run)".into(),
                ));
            };
            return Ok(Chosen {
                spec: model.clone(),
                run: None,
                model: None,
            });
        };
        let weights = RunWeights::find(home, run)?;
        let (spec, adapter) = weights.model_and_adapter(request.model.as_deref());
        // A recorded path (not a hub id) that is gone: say so, not "config.json cannot be read".
        if adapter.is_some() && request.model.is_none() && Path::new(&spec).is_absolute() {
            crate::run::model_gone::require_model(&weights.run.id, Path::new(&spec))?;
        }
        let held = match request.quantised {
            true => BaseHeld::Quantised,
            false => BaseHeld::AsTrained,
        };
        Ok(Chosen {
            spec,
            run: Some((weights, held)),
            model: request.model.clone(),
        })
    }

    /// Loads it, once the memory check lets it.
    fn load(self, home: &Home) -> Result<DecoderSession> {
        let quantised = self
            .run
            .as_ref()
            .is_none_or(|(w, held)| w.held_quantised(*held));
        crate::memory_check::before_loading(home, &self.spec, "chat", quantised)?;
        match &self.run {
            Some((weights, held)) => weights.open(self.model.as_deref(), *held),
            None => DecoderSession::open(&self.spec, None),
        }
    }
}

/// Answers `request`, streaming [`ChatEvent`]s to `on_event` (each delta, then `done`).
pub fn chat(
    home: &Home,
    request: &ChatRequest,
    cancel: Option<&CancelHandle>,
    on_event: &mut dyn FnMut(&ChatEvent),
) -> Result<ChatAnswer> {
    let chosen = Chosen::of(home, request)?;
    let chosen_run = chosen.run.as_ref().map(|(weights, _)| weights.run.clone());
    // Retrieval first: a missing index fails before the model is loaded.
    let passages = match &request.rag {
        Some(name) => Some(retrieve(home, name, &request.prompt, request.passages)?),
        None => None,
    };
    let model = chosen.load(home)?;
    let fit_run = match &request.fit_to {
        Some(r) => Some(crate::run::find_run(home, r)?),
        None => chosen_run,
    };
    let answer_length = match request.max_tokens {
        Some(m) => crate::compare_length::given(m),
        None => crate::compare_length::for_one_question(&model, fit_run.as_ref())?,
    };
    let options = AnswerOptions {
        max_tokens: answer_length.max_tokens,
        ..request.options.clone()
    };
    let mut answer = answer(
        &model,
        &request.prompt,
        passages.as_deref(),
        &options,
        cancel,
        &mut |piece| {
            on_event(&ChatEvent::Delta {
                text: piece.to_string(),
            })
        },
    )?;
    answer.answer_length = answer_length;
    on_event(&ChatEvent::Done(answer.clone()));
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_event_is_tagged_and_carries_the_whole_answer() {
        let answer = ChatAnswer {
            text: "Paris.".into(),
            tokens: 3,
            tokens_per_s: 12.5,
            prompt_tokens: 10,
            prompt_seconds: 0.1,
            generation_seconds: 0.24,
            stop: StopReason::StopToken(2),
            passages: Vec::new(),
            answer_length: crate::compare_length::given(16),
        };
        let v = serde_json::to_value(ChatEvent::Done(answer)).unwrap();
        assert_eq!(v["event"], "done");
        assert_eq!(v["text"], "Paris.");
        assert_eq!(v["tokens"], 3);
        assert_eq!(v["stop"]["reason"], "stop_token");
        let d = serde_json::to_value(ChatEvent::Delta { text: "Par".into() }).unwrap();
        assert_eq!(d, serde_json::json!({"event": "delta", "text": "Par"}));
    }
}
