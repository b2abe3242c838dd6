//! A loaded decoder: a Llama-family model (a folder or a `.gguf` file) with everything that turns
//! text into its token ids and back: the engine's decoder (model, tokenizer, stop tokens:
//! [`tunesmith_engine::session::Decoder`]) and the chat template compiled here, where
//! conversations are (the data crate's [`ChatTemplate`]; the engine takes rendered text).
//! Training, evaluation, chat and compare load a decoder here and nowhere else, and generate
//! through [`DecoderSession::generate`].
//!
//! Promises:
//! - The chat template is the model's own (`tokenizer_config.json`'s, or the GGUF's
//!   `tokenizer.chat_template`, as the engine hands it on); a model without one trains on
//!   [`PLAIN_TEMPLATE`] and chats with the plain text (system text, a blank line, the question).
//! - Generation stops on the model's EOS ids and the end-of-turn tokens its vocabulary has (the
//!   engine's [`DecoderText::stop_ids`](tunesmith_engine::session::DecoderText::stop_ids)).
//!   Greedy when the temperature is 0, otherwise seeded: the same request gives the same answer.
//! - A run is loaded as it ended: its PEFT adapter applied at load (no merge), or its full weights
//!   restored from its best (else last) checkpoint, on the base its plan names.

use std::path::{Path, PathBuf};

use tunesmith_data::{ChatTemplate, Content, Dataset, Message};
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::device::{self, Device, DeviceRequest};
use tunesmith_engine::generate::{CancelHandle, Generated, SamplingConfig};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::precision::compute_dtype;
use tunesmith_engine::session::{Decoder, DecoderTokens as Tokens};
use tunesmith_engine::task::SftExample;
use tunesmith_engine::train::Method;
use tunesmith_hub::locate::Located;

use super::invalid_of;
use crate::home::Home;
use crate::run::{FoundRun, TrainPlan};
use crate::{Error, Result};

/// A template for models that ship none: the prompt, a line break, the answer, the end token.
pub const PLAIN_TEMPLATE: &str = "{% for m in messages %}{% if m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% else %}{{ m['content'] + '\n' }}{% endif %}{% endfor %}";

/// Answer length when none is asked for.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Sampling temperature when none is asked for: 0, greedy (the same question, the same answer).
pub const DEFAULT_TEMPERATURE: f64 = 0.0;

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

/// How a model's weights are held when it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A GGUF file's own quantisation kept (quantised inference: a quarter of f32's memory or
    /// less, faster); a folder's weights as stored.
    Stored,
    /// As a run trained on them: dequantised to f32 (a GGUF too), or quantised with the policy
    /// given (QLoRA's 4-bit base). The answers evaluation shows and PEFT reproduces.
    AsTrained(Option<QuantPolicy>),
}

/// A decoder ready to train, score or answer: the model and its text side.
pub struct DecoderSession {
    model: LlamaModel,
    text: DecoderText,
    source: PathBuf,
    adapter: Option<PathBuf>,
}

/// A decoder's text side: its tokenizer, chat template and stop tokens, and the token that pads
/// its batches. It answers with its session's model, or, once a training task owns that model,
/// with the task's (the same vocabulary): fact recall before and after training.
pub struct DecoderText {
    /// The engine's side: tokenizer, stop ids, pad token, generation.
    tokens: Tokens,
    /// The model's own chat template, if it has one.
    template: Option<ChatTemplate>,
    /// [`PLAIN_TEMPLATE`] with the model's special tokens: training text for a model without one.
    plain: ChatTemplate,
    /// The longest training example in tokens (the plan's; the context length otherwise).
    max_len: usize,
}

impl std::fmt::Debug for DecoderSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderSession")
            .field("source", &self.source)
            .field("adapter", &self.adapter)
            .field("stop_ids", &self.text.tokens.stop_ids())
            .finish_non_exhaustive()
    }
}

impl DecoderSession {
    /// The plan's model (a folder or a `.gguf` file) as the plan trains it: `backbone` on
    /// `device`, 4-bit for QLoRA, fresh LoRA factors from the plan's seed.
    pub fn of_plan(
        plan: &TrainPlan,
        backbone: Backbone,
        device: &Device,
    ) -> Result<DecoderSession> {
        let decoder = Decoder::load(plan.model(), &plan_options(plan, backbone, device))?;
        DecoderSession::of_decoder(decoder, None, Some(plan))
    }

    /// Run `run` as it ended, on its plan's base as it trained (quantised for QLoRA): its
    /// adapter applied, or its full weights restored from its best (else last) checkpoint.
    pub fn of_run(
        home: &Home,
        run: &FoundRun,
        plan: &TrainPlan,
        device: &Device,
    ) -> Result<DecoderSession> {
        if plan.method() == Method::Full {
            let decoder =
                Decoder::load(plan.model(), &plan_options(plan, Backbone::Full, device))?;
            decoder
                .restore(&run.folder.weights_file(&run.id)?)
                .map_err(invalid_of)?;
            return DecoderSession::of_decoder(decoder, None, Some(plan));
        }
        let adapter = run.adapter_dir(home)?;
        let backbone = PeftAdapter::load(&adapter, device)?.backbone();
        let decoder = Decoder::load(plan.model(), &plan_options(plan, backbone, device))?;
        DecoderSession::of_decoder(decoder, Some(&adapter), Some(plan))
    }

    /// The model `spec` names (a folder, a `.gguf` file or a cached hub id) for answering, with
    /// the PEFT adapter in `adapter` applied when given. A GGUF keeps its quantised weights
    /// (about a quarter of f32's memory or less, faster token by token); a folder's safetensors
    /// stay as stored. A run answers through [`crate::session::RunWeights::open`] instead, on its
    /// base as it trained.
    pub fn open(spec: &str, adapter: Option<&Path>) -> Result<DecoderSession> {
        DecoderSession::open_as(spec, adapter, Hold::Stored)
    }

    /// As [`DecoderSession::open`], the weights held as `hold` says.
    pub fn open_as(spec: &str, adapter: Option<&Path>, hold: Hold) -> Result<DecoderSession> {
        let located = crate::models::resolve(spec, "main", false, &mut |_| {})?;
        let quantize = match (hold, &located) {
            (Hold::AsTrained(policy), _) => policy,
            (Hold::Stored, Located::Gguf(_)) => Some(QuantPolicy::Stored),
            (Hold::Stored, Located::Folder(_)) => None,
        };
        let path = match located {
            Located::Folder(p) | Located::Gguf(p) => p,
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
        DecoderSession::of_decoder(Decoder::load(&path, &opts)?, adapter, None)
    }

    /// The engine's `decoder` (with `adapter` applied at its load, if any) with its chat
    /// template compiled; its training examples as long as `plan` says, else its context length.
    fn of_decoder(
        decoder: Decoder,
        adapter: Option<&Path>,
        plan: Option<&TrainPlan>,
    ) -> Result<DecoderSession> {
        let context = decoder.context_length();
        let source = decoder.text.template().clone();
        let template = match &source.template {
            Some(t) => Some(ChatTemplate::new(t, &source.bos_token, &source.eos_token)?),
            None => None,
        };
        let plain = ChatTemplate::new(PLAIN_TEMPLATE, &source.bos_token, &source.eos_token)?;
        let text = DecoderText {
            tokens: decoder.text,
            template,
            plain,
            max_len: plan.map_or(context, |p| p.max_len(context)),
        };
        Ok(DecoderSession {
            model: decoder.model,
            text,
            source: decoder.source,
            adapter: adapter.map(Path::to_path_buf),
        })
    }

    /// The model.
    pub fn model(&self) -> &LlamaModel {
        &self.model
    }

    /// The model and the token that pads its batches, for a training or scoring task (which owns
    /// the model from then on).
    pub fn into_model(self) -> (LlamaModel, u32) {
        let pad_id = self.text.tokens.pad_id();
        (self.model, pad_id)
    }

    /// The model, the token that pads its batches, and the text side that still answers with a
    /// model of the same vocabulary once a training task owns this one.
    pub fn into_parts(self) -> (LlamaModel, u32, DecoderText) {
        let pad_id = self.text.tokens.pad_id();
        (self.model, pad_id, self.text)
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
        self.text.tokens.stop_ids()
    }

    /// The longest sequence (prompt and answer) the model reads.
    pub fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    /// Every row of `dataset` as a training conversation in the model's chat template, only the
    /// response tokens counted.
    pub fn examples(&self, dataset: &Dataset) -> Result<Vec<SftExample>> {
        self.text.examples(dataset)
    }

    /// Greedy answers, at most `max_new` tokens each, to the prompts of `dataset`'s rows `rows`,
    /// rendered as training saw them.
    pub fn answers(
        &self,
        dataset: &Dataset,
        rows: &[usize],
        max_new: usize,
    ) -> Result<Vec<String>> {
        self.text.answers_of(&self.model, dataset, rows, max_new)
    }

    /// The prompt text for `user` (with `system` first when given), through the chat template
    /// with the generation prompt.
    pub fn prompt_text(&self, system: Option<&str>, user: &str) -> Result<String> {
        self.text.prompt_text(system, user)
    }

    /// As [`DecoderSession::prompt_ids`].
    pub fn prompt_ids(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        self.text.prompt_ids(system, user)
    }

    /// How many tokens `text` is in this model's tokenizer (no special tokens added).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.text.count_tokens(text)
    }

    /// The one generation entry point: the answer to `ids` as `options` say, each new piece of
    /// text passed to `on_delta`; stops on the model's stop ids, at `max_tokens`, at the context
    /// length, or when cancelled.
    pub fn generate(
        &self,
        ids: &[u32],
        options: &AnswerOptions,
        cancel: Option<&CancelHandle>,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Generated> {
        self.text
            .generate(&self.model, ids, options, cancel, on_delta)
    }
}

impl DecoderText {
    /// The template training text is rendered with: the model's own, else the plain one.
    fn training_template(&self) -> &ChatTemplate {
        self.template.as_ref().unwrap_or(&self.plain)
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokens
            .encode(text)
            .map_err(|e| Error::invalid(format!("cannot tokenise a row: {e}")))
    }

    /// As [`DecoderSession::examples`].
    pub fn examples(&self, dataset: &Dataset) -> Result<Vec<SftExample>> {
        dataset
            .examples
            .iter()
            .map(|e| {
                let Content::Chat { messages } = &e.content else {
                    return Err(Error::invalid(format!(
                        "{} line {}: not a prompt with a response; name the columns with --prompt-column and --response-column",
                        dataset.report.file, e.line
                    )));
                };
                let t = self.training_template().training_text(messages)?;
                SftExample::new(&self.encode(&t.prompt)?, &self.encode(&t.full)?, self.max_len)
                    .map_err(|err| Error::invalid(format!("line {}: {err}", e.line)))
            })
            .collect()
    }

    /// Greedy answers of `model` (this session's, or the same vocabulary's after training), at
    /// most `max_new` tokens each, to the prompts of `dataset`'s rows `rows`, rendered as
    /// training saw them.
    pub fn answers_of(
        &self,
        model: &LlamaModel,
        dataset: &Dataset,
        rows: &[usize],
        max_new: usize,
    ) -> Result<Vec<String>> {
        let options = AnswerOptions {
            system: None,
            max_tokens: max_new,
            temperature: 0.0,
            seed: 0,
        };
        // The prompt's tail when it would leave no room for the answer.
        let max_prompt = model
            .config()
            .max_position_embeddings
            .saturating_sub(max_new + 1);
        rows.iter()
            .map(|&i| {
                let Content::Chat { messages } = &dataset.examples[i].content else {
                    return Err(Error::invalid(format!(
                        "row {i} is not a prompt with a response"
                    )));
                };
                let prompt =
                    self.encode(&self.training_template().training_text(messages)?.prompt)?;
                let prompt = &prompt[prompt.len().saturating_sub(max_prompt)..];
                let out = self.generate(model, prompt, &options, None, &mut |_| {})?;
                Ok(out.text.trim().to_string())
            })
            .collect()
    }

    /// Greedy short answers of `model` (of this vocabulary) to each of `questions`, asked as one
    /// user turn in the template training renders, at most `max_new` tokens each and ending with
    /// the first line or sentence ([`first_sentence`]): the forgetting check's one-line answers,
    /// with no tokens spent past what is checked (each token is a pass through the whole model).
    pub fn short_answers(
        &self,
        model: &LlamaModel,
        questions: &[String],
        max_new: usize,
    ) -> Result<Vec<String>> {
        let options = AnswerOptions {
            system: None,
            max_tokens: max_new,
            temperature: 0.0,
            seed: 0,
        };
        questions
            .iter()
            .map(|q| {
                let messages = [Message {
                    role: "user".into(),
                    content: q.clone(),
                }];
                let prompt = self.encode(&self.training_template().render(&messages, true)?)?;
                let cancel = CancelHandle::new();
                let mut so_far = String::new();
                let out = self.generate(model, &prompt, &options, Some(&cancel), &mut |delta| {
                    so_far.push_str(delta);
                    if first_sentence(&so_far).is_some() {
                        cancel.cancel();
                    }
                })?;
                let text = out.text.trim();
                Ok(first_sentence(text).unwrap_or(text).trim().to_string())
            })
            .collect()
    }

    /// `text` (plain prose, no template) as scoring examples of at most `window` tokens each, every
    /// token after a window's first counted: the perplexity of general text under a model.
    pub fn text_examples(&self, text: &str, window: usize) -> Result<Vec<SftExample>> {
        self.tokens
            .text_examples(text, window)
            .map_err(|e| Error::invalid(format!("cannot score the general text: {e}")))
    }

    /// As [`DecoderSession::prompt_text`].
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

    /// As [`DecoderSession::count_tokens`].
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.tokens
            .count_tokens(text)
            .map_err(|e| Error::Chat(format!("the text cannot be tokenised: {e}")))
    }

    /// As [`DecoderSession::prompt_ids`].
    pub fn prompt_ids(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        let text = self.prompt_text(system, user)?;
        // A rendered template holds its special tokens as text (apply_chat_template encodes without
        // adding more); plain text gets the tokenizer's own additions, as a bare prompt would.
        let add_special = self.template.is_none();
        self.tokens
            .prompt_ids(&text, add_special)
            .map_err(|e| Error::Chat(format!("the prompt cannot be tokenised: {e}")))
    }

    /// As [`DecoderSession::generate`], with `model` (of this vocabulary).
    pub fn generate(
        &self,
        model: &LlamaModel,
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
        let sampling = SamplingConfig {
            temperature: options.temperature,
            seed: options.seed,
            ..Default::default()
        };
        Ok(self
            .tokens
            .generate(model, ids, options.max_tokens, sampling, cancel, on_delta)?)
    }
}

/// The first line or sentence of `text` once it is complete: up to a line break after some text,
/// or up to a `.`, `!` or `?` that follows a lower-case letter or a digit and is itself followed
/// by white space ("Paris. It is" gives "Paris."; "U.S. dollar" and "3.5" go on). `None` while
/// it may still go on.
pub fn first_sentence(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\n' {
            return Some(&text[..i]);
        }
        let ends = matches!(c, '.' | '!' | '?')
            && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
            && chars.peek().is_some_and(|(_, n)| n.is_whitespace());
        if ends {
            return Some(&text[..i + c.len_utf8()]);
        }
        prev = Some(c);
    }
    None
}

/// How a plan loads its model: `backbone` on `device`, quantised as the method says, fresh
/// parameters from the plan's seed (f32, the load options' default).
fn plan_options(plan: &TrainPlan, backbone: Backbone, device: &Device) -> LlamaLoadOptions {
    LlamaLoadOptions {
        backbone,
        quantize: plan.quantize(),
        dtype: compute_dtype(plan.precision(), device),
        device: device.clone(),
        seed: plan.seed(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_llama() -> PathBuf {
        tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
    }

    /// The tiny Llama's files in a new folder, with `tokenizer_config` instead of its own.
    fn tiny_llama_with(tokenizer_config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.json",
        ] {
            std::fs::copy(tiny_llama().join(f), dir.path().join(f)).unwrap();
        }
        std::fs::write(dir.path().join("tokenizer_config.json"), tokenizer_config).unwrap();
        dir
    }

    fn chat(user: &str, assistant: &str) -> Vec<Message> {
        vec![
            Message {
                role: "user".into(),
                content: user.into(),
            },
            Message {
                role: "assistant".into(),
                content: assistant.into(),
            },
        ]
    }

    #[test]
    fn a_model_folder_stops_on_its_eos_ids_and_end_of_turn_token_and_prompts_in_its_own_template() {
        let s = DecoderSession::open(tiny_llama().to_str().unwrap(), None).unwrap();
        let im_end = s.text.tokens.token_id("<|im_end|>").unwrap();
        // config.json's and generation_config.json's EOS (2), and the template's end of turn.
        assert!(s.stop_ids().contains(&2), "{:?}", s.stop_ids());
        assert!(s.stop_ids().contains(&im_end), "{:?}", s.stop_ids());
        assert!(
            s.stop_ids().windows(2).all(|w| w[0] < w[1]),
            "sorted, once each"
        );
        assert_eq!(
            s.prompt_text(None, "hi").unwrap(),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        // Training renders the same template: the prompt is what chat shows the model.
        let t = s
            .text
            .training_template()
            .training_text(&chat("hi", "hello"))
            .unwrap();
        assert_eq!(t.prompt, s.prompt_text(None, "hi").unwrap());
    }

    #[test]
    fn a_model_without_a_template_trains_on_the_plain_one_and_chats_in_plain_text() {
        let dir = tiny_llama_with(r#"{"eos_token": {"content": "<|im_end|>"}}"#);
        let s = DecoderSession::open(dir.path().to_str().unwrap(), None).unwrap();
        assert_eq!(
            s.prompt_text(Some("Be brief."), "hi").unwrap(),
            "Be brief.\n\nhi"
        );
        let t = s
            .text
            .training_template()
            .training_text(&chat("hi", "hello"))
            .unwrap();
        assert_eq!(
            (t.prompt.as_str(), t.full.as_str()),
            ("hi\n", "hi\nhello<|im_end|>")
        );
        // The EOS token named in an added-token object is a stop token too.
        let im_end = s.text.tokens.token_id("<|im_end|>").unwrap();
        assert!(s.stop_ids().contains(&im_end));
    }

    #[test]
    fn a_short_answer_ends_with_its_first_line_or_sentence() {
        assert_eq!(first_sentence("Paris. It is the capital"), Some("Paris."));
        assert_eq!(first_sentence("  Yes!\nMore"), Some("Yes!"));
        assert_eq!(first_sentence("Tokyo\n"), Some("Tokyo"));
        assert_eq!(first_sentence("It is 3.5 kg"), None, "a decimal point goes on");
        assert_eq!(first_sentence("the U.S. dollar"), None, "an abbreviation goes on");
        assert_eq!(first_sentence("It is Paris."), None, "may still go on");
        assert_eq!(first_sentence("It is 100. Yes"), Some("It is 100."));
    }

    #[test]
    fn a_damaged_tokenizer_config_is_refused_naming_the_file() {
        let dir = tiny_llama_with("{ \"chat_template\": ");
        let err = DecoderSession::open(dir.path().to_str().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tokenizer_config.json") && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
