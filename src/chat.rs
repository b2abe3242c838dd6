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
//! - A run is used through its PEFT adapter, applied at load (no merge), or its merged weights.
//! - Every text piece reaches the caller's callback as soon as it is complete UTF-8, so the Tauri
//!   shell can forward [`ChatEvent`]s over a per-job channel; nothing here knows about Tauri.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;
use tunesmith_data::{ChatTemplate, Message};
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::device::{self, DeviceRequest};
use tunesmith_engine::generate::{generate, GenerateConfig, Generated, SamplingConfig, StopReason};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::models::llama_config::LlamaConfig;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_hub::locate::Located;
use tunesmith_store::{ArtefactKind, RunRecord};

/// Stops a chat or comparison before its next token.
pub use tunesmith_engine::generate::CancelHandle;

use crate::home::Home;
use crate::rag::{cited_prompt, Passage, SearchMode};
use crate::{Error, Result};

/// Answer length when none is asked for.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Passages retrieved for a RAG answer when none is asked for.
pub const DEFAULT_PASSAGES: usize = 3;
/// Sampling temperature when none is asked for: 0, greedy (the same question, the same answer).
pub const DEFAULT_TEMPERATURE: f64 = 0.0;

// Chat templates' end-of-turn markers: generation stops on any of them found in the vocabulary.
use tunesmith_engine::tokenizer::END_OF_TURN;

/// How to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerOptions {
    /// A system prompt (the template's default when `None`).
    pub system: Option<String>,
    /// The most tokens to generate.
    pub max_tokens: usize,
    /// 0 for greedy; higher values sample more freely.
    pub temperature: f64,
    /// The sampling seed.
    pub seed: u64,
}

impl Default for AnswerOptions {
    fn default() -> Self {
        Self {
            system: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: DEFAULT_TEMPERATURE,
            seed: crate::run::DEFAULT_SEED,
        }
    }
}

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
    /// Generation settings.
    pub options: AnswerOptions,
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
    /// The most tokens to generate (default 256).
    #[specta(optional)]
    pub max_tokens: Option<u32>,
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
                max_tokens: a.max_tokens.map_or(DEFAULT_MAX_TOKENS, |m| m as usize),
                temperature: a.temperature.unwrap_or(defaults.temperature),
                seed: a.seed.unwrap_or(defaults.seed),
            },
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

/// A decoder ready to chat: the model, its tokenizer, template and stop tokens.
pub struct ChatModel {
    model: LlamaModel,
    tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    stop_ids: Vec<u32>,
    /// BOS to put first when the model expects one and the template did not write it (GGUF).
    bos: Option<u32>,
    source: PathBuf,
    adapter: Option<PathBuf>,
}

impl std::fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModel")
            .field("source", &self.source)
            .field("adapter", &self.adapter)
            .field("stop_ids", &self.stop_ids)
            .finish_non_exhaustive()
    }
}

impl ChatModel {
    /// Loads the model named by `spec` (a folder, a `.gguf` file or a cached hub id), with the PEFT
    /// adapter in `adapter` applied when given.
    pub fn load(spec: &str, adapter: Option<&Path>) -> Result<ChatModel> {
        // A GGUF base keeps its quantised weights (quantised inference: about a quarter of f32's
        // memory or less, faster token by token); a folder's safetensors stay as stored.
        let (path, quantize) = match crate::models::resolve(spec, "main", false, &mut |_| {})? {
            Located::Folder(dir) => (dir, None),
            Located::Gguf(file) => (file, Some(QuantPolicy::Stored)),
        };
        let device = device::open(DeviceRequest::Auto)?;
        let backbone = match adapter {
            None => Backbone::Frozen,
            Some(dir) => {
                let peft = PeftAdapter::load(dir, &device)?;
                if let Some(name) = peft.saved.keys().next() {
                    return Err(Error::Chat(format!(
                        "the adapter in {} also saves the whole module `{name}`, which chat does not apply; \
                         export the run merged and chat with the merged model instead",
                        dir.display()
                    )));
                }
                peft.backbone()
            }
        };
        let opts = LlamaLoadOptions {
            backbone,
            quantize,
            device,
            ..Default::default()
        };
        let loaded = LlamaModel::load(&path, &opts)?;
        let (tokenizer, template, stop_ids, bos) = match loaded.gguf_tokenizer {
            Some(gguf) => {
                let token = |id: Option<u32>| {
                    id.and_then(|i| gguf.tokenizer.id_to_token(i))
                        .unwrap_or_default()
                };
                let template = match &gguf.chat_template {
                    Some(t) => Some(ChatTemplate::new(
                        t,
                        &token(gguf.special.bos),
                        &token(gguf.special.eos),
                    )?),
                    None => None,
                };
                let bos = if gguf.special.add_bos {
                    gguf.special.bos
                } else {
                    None
                };
                (gguf.tokenizer, template, gguf.special.stop_ids(), bos)
            }
            None => {
                let (tokenizer, template, stop_ids) =
                    folder_tokenizer(&path, loaded.model.config())?;
                (tokenizer, template, stop_ids, None)
            }
        };
        Ok(ChatModel {
            model: loaded.model,
            tokenizer,
            template,
            stop_ids,
            bos,
            source: path,
            adapter: adapter.map(Path::to_path_buf),
        })
    }

    /// Where the weights came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The adapter applied, if any.
    pub fn adapter(&self) -> Option<&Path> {
        self.adapter.as_deref()
    }

    /// The token ids generation stops on.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// The longest sequence (prompt and answer) the model reads.
    pub fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    /// The prompt text for `user` (with `system` first when given), through the chat template.
    pub fn prompt_text(&self, system: Option<&str>, user: &str) -> Result<String> {
        let Some(template) = &self.template else {
            return Ok(match system {
                Some(s) if !s.trim().is_empty() => format!("{s}\n\n{user}"),
                _ => user.to_string(),
            });
        };
        let mut messages = Vec::new();
        if let Some(s) = system {
            messages.push(Message {
                role: "system".into(),
                content: s.to_string(),
            });
        }
        messages.push(Message {
            role: "user".into(),
            content: user.to_string(),
        });
        Ok(template.render(&messages, true)?)
    }

    /// How many tokens `text` is in this model's tokenizer (no special tokens added).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::Chat(format!("the text cannot be tokenised: {e}")))?;
        Ok(enc.len())
    }

    /// The token ids of the prompt for `user`.
    pub fn prompt_ids(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        let text = self.prompt_text(system, user)?;
        // A rendered template holds its special tokens as text (apply_chat_template encodes without
        // adding more); plain text gets the tokenizer's own additions, as a bare prompt would.
        let add_special = self.template.is_none();
        let enc = self
            .tokenizer
            .encode(text.as_str(), add_special)
            .map_err(|e| Error::Chat(format!("the prompt cannot be tokenised: {e}")))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if let Some(bos) = self.bos {
            if enc.get_ids().first() != Some(&bos) {
                ids.push(bos);
            }
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Generates the answer to `ids`, passing each new piece of text to `on_delta`.
    pub fn generate(
        &self,
        ids: &[u32],
        options: &AnswerOptions,
        cancel: Option<&CancelHandle>,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Generated> {
        if options.max_tokens == 0 {
            return Err(Error::Chat("--max-tokens must be at least 1".into()));
        }
        if !(options.temperature.is_finite() && options.temperature >= 0.0) {
            return Err(Error::Chat(format!(
                "the temperature {} is not usable: give 0 (always the most likely word) or a positive number such as 0.7",
                options.temperature
            )));
        }
        let cfg = GenerateConfig {
            max_new_tokens: options.max_tokens,
            sampling: SamplingConfig {
                temperature: options.temperature,
                seed: options.seed,
                ..Default::default()
            },
            stop_ids: self.stop_ids.clone(),
        };
        Ok(generate(
            &self.model,
            &self.tokenizer,
            ids,
            &cfg,
            cancel,
            on_delta,
        )?)
    }

    /// Answers `question`, reading `passages` (best first) when given: as many of them as fit in the
    /// context with room for the answer. Streams pieces to `on_delta`.
    pub fn answer(
        &self,
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
            None => (self.prompt_ids(system, question)?, Vec::new()),
            Some(all) => self.fit_passages(system, question, all, options.max_tokens)?,
        };
        let out = self.generate(&ids, options, cancel, on_delta)?;
        Ok(ChatAnswer {
            tokens_per_s: out.tokens_per_second(),
            text: out.text,
            tokens: out.tokens.len(),
            prompt_tokens: out.prompt_tokens,
            prompt_seconds: out.prompt_seconds,
            generation_seconds: out.generation_seconds,
            stop: out.stop,
            passages: shown,
        })
    }

    /// The cited prompt with as many of `passages` as leave `answer_room` tokens of context.
    fn fit_passages(
        &self,
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
        let budget = self
            .context_length()
            .saturating_sub(answer_room.min(self.context_length() / 2));
        let mut n = passages.len();
        loop {
            let ids = self.prompt_ids(system, &cited_prompt(question, &passages[..n]))?;
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
                    "even one retrieved passage does not fit in the model's context ({} tokens, with room for the answer): \
                     the prompt would take {} tokens. Use a model with a longer context, fewer --max-tokens, or re-index with smaller passages (--chunk-tokens)",
                    self.context_length(),
                    ids.len()
                )));
            }
            n -= 1;
        }
    }
}

/// The tokenizer, chat template and stop ids of a model folder.
fn folder_tokenizer(
    dir: &Path,
    config: &LlamaConfig,
) -> Result<(Tokenizer, Option<ChatTemplate>, Vec<u32>)> {
    let tok_path = dir.join("tokenizer.json");
    if !tok_path.is_file() {
        return Err(Error::Chat(format!(
            "{} has no tokenizer.json; a model folder needs one to chat",
            dir.display()
        )));
    }
    let tokenizer = Tokenizer::from_file(&tok_path)
        .map_err(|e| Error::Chat(format!("{} cannot be loaded: {e}", tok_path.display())))?;
    let read_json = |name: &str| -> Result<Option<serde_json::Value>> {
        let p = dir.join(name);
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p)
            .map_err(|e| Error::Chat(format!("{} cannot be read: {e}", p.display())))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Chat(format!("{} is not valid JSON: {e}", p.display())))
    };
    let tok_cfg = read_json("tokenizer_config.json")?;
    let template = match &tok_cfg {
        Some(cfg) => ChatTemplate::from_tokenizer_config(cfg)?,
        None => None,
    };
    let mut stop: Vec<u32> = config.eos_ids();
    if let Some(gen) = read_json("generation_config.json")? {
        match gen.get("eos_token_id") {
            Some(serde_json::Value::Number(n)) => stop.extend(n.as_u64().map(|v| v as u32)),
            Some(serde_json::Value::Array(a)) => {
                stop.extend(a.iter().filter_map(|v| v.as_u64()).map(|v| v as u32))
            }
            _ => {}
        }
    }
    if let Some(eos) = tok_cfg.as_ref().and_then(|c| c.get("eos_token")) {
        let name = eos
            .as_str()
            .or_else(|| eos.get("content").and_then(|c| c.as_str()));
        stop.extend(name.and_then(|n| tokenizer.token_to_id(n)));
    }
    stop.extend(END_OF_TURN.iter().filter_map(|t| tokenizer.token_to_id(t)));
    // A pad token that doubles as `<|endoftext|>` is still an end: keep it; but never stop on BOS.
    stop.sort_unstable();
    stop.dedup();
    Ok((tokenizer, template, stop))
}

/// What a run contributes to a chat: its record and the adapter or merged weights to use.
#[derive(Debug, Clone)]
pub struct RunWeights {
    /// The run.
    pub run: RunRecord,
    /// Its PEFT adapter folder (LoRA, QLoRA), applied on the base.
    pub adapter: Option<PathBuf>,
    /// Its merged weights (full fine-tuning, or an exported merge), used instead of the base.
    pub merged: Option<PathBuf>,
}

impl RunWeights {
    /// The model to load (`model` if given, else what the run was trained on, or its merged
    /// weights) and the adapter to apply.
    pub fn model_and_adapter(&self, model: Option<&str>) -> (String, Option<PathBuf>) {
        if let Some(merged) = &self.merged {
            if self.adapter.is_none() {
                return (merged.display().to_string(), None);
            }
        }
        let base = model
            .map(str::to_string)
            .unwrap_or_else(|| self.run.model_ref.clone());
        (base, self.adapter.clone())
    }
}

/// Finds the weights of the run `query` names: its newest adapter, else its newest merged model
/// (for full fine-tuning, merged from its checkpoint the first time).
pub fn run_weights(home: &Home, query: &str) -> Result<RunWeights> {
    let store = crate::runs::open_for_reading(home)?;
    let run = store.resolve_run(query)?;
    if run.task == "classify" {
        return Err(Error::Chat(format!(
            "run `{}` trained a classifier, which answers with labels rather than text; use it with predict, not chat or compare",
            run.name
        )));
    }
    let artefacts = store.artefacts(&run.id)?;
    let newest = |kind: ArtefactKind| {
        artefacts
            .iter()
            .filter(|a| a.kind == kind && a.path.exists())
            .max_by_key(|a| (a.created_at, a.id))
            .map(|a| a.path.clone())
    };
    let adapter = newest(ArtefactKind::Adapter);
    let mut merged = newest(ArtefactKind::Merged);
    let folder = crate::run::RunFolder::new(store.run_dir(&run.id));
    if adapter.is_none() && merged.is_none() && run.method == "full" && folder.has_weights() {
        // Full fine-tuning keeps its weights in training checkpoints; the first chat merges them
        // into a model folder once (seconds for a small model) and later chats reuse it.
        drop(store);
        merged = Some(crate::export::merged_of_full_run(home, &run.id)?);
    }
    if adapter.is_none() && merged.is_none() {
        return Err(Error::Chat(format!(
            "run `{}` ({}) has no adapter or merged model on disk yet; wait for it to finish, or pick another run (tunesmith runs list)",
            run.name,
            run.status.as_str()
        )));
    }
    Ok(RunWeights {
        run,
        adapter,
        merged,
    })
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

/// Answers `request`, streaming [`ChatEvent`]s to `on_event` (each delta, then `done`).
pub fn chat(
    home: &Home,
    request: &ChatRequest,
    cancel: Option<&CancelHandle>,
    on_event: &mut dyn FnMut(&ChatEvent),
) -> Result<ChatAnswer> {
    let (spec, adapter) = match &request.run {
        Some(run) => {
            let weights = run_weights(home, run)?;
            let (spec, adapter) = weights.model_and_adapter(request.model.as_deref());
            // A recorded path (not a hub id) that is gone: say so, not "config.json cannot be read".
            if adapter.is_some() && request.model.is_none() && Path::new(&spec).is_absolute() {
                crate::run::model_gone::require_model(&weights.run.id, Path::new(&spec))?;
            }
            (spec, adapter)
        }
        None => match &request.model {
            Some(m) => (m.clone(), None),
            None => {
                return Err(Error::Chat(
                    "name a model (--model) or a fine-tuned run (--run)".into(),
                ))
            }
        },
    };
    // Retrieval first: a missing index fails before the model is loaded.
    let passages = match &request.rag {
        Some(name) => Some(retrieve(home, name, &request.prompt, request.passages)?),
        None => None,
    };
    crate::memory_check::before_loading(home, &spec, "chat")?;
    let model = ChatModel::load(&spec, adapter.as_deref())?;
    let answer = model.answer(
        &request.prompt,
        passages.as_deref(),
        &request.options,
        cancel,
        &mut |piece| {
            on_event(&ChatEvent::Delta {
                text: piece.to_string(),
            })
        },
    )?;
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
