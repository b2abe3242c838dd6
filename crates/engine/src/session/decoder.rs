//! A loaded decoder: a Llama-family model (a folder or a `.gguf` file) with everything that turns
//! text into its token ids and back: its tokenizer, the source of its chat template, the token ids
//! generation stops on, and the token that pads its batches.
//!
//! Promises:
//! - The chat template is the model's own (`tokenizer_config.json`'s, or the GGUF's
//!   `tokenizer.chat_template`), handed on as text with the special tokens it refers to
//!   ([`TemplateSource`]); the engine renders no conversations (the data crate's `ChatTemplate`
//!   does, above the engine), so it works on already-rendered text and token ids only.
//! - Generation stops on the model's EOS ids (its config, `generation_config.json`, the tokenizer's
//!   EOS token) and on the end-of-turn tokens its vocabulary has; a GGUF's special ids say the
//!   same. Greedy when the temperature is 0, otherwise seeded: the same request gives the same
//!   answer.
//! - A run's full weights are put back with [`Decoder::restore`] (every trainable variable from a
//!   training checkpoint); a PEFT adapter is applied at load through [`LlamaLoadOptions::backbone`].

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;
use tunesmith_vocab::TokenizerConfig;

use super::restore::restore_trainable;
use crate::generate::{generate, CancelHandle, GenerateConfig, Generated, SamplingConfig};
use crate::models::llama::{LlamaLoadOptions, LlamaModel};
use crate::task::SftExample;
use crate::tokenizer::{TextTokenizer, END_OF_TURN};
use crate::{EngineError, Result};

/// A model's chat template as text, with the special tokens it refers to: what the layer above
/// compiles and renders conversations with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateSource {
    /// The Jinja template, if the model ships one.
    pub template: Option<String>,
    /// The beginning-of-sequence token's text (empty when the model has none).
    pub bos_token: String,
    /// The end-of-sequence token's text (empty when the model has none).
    pub eos_token: String,
}

/// A loaded decoder: the model and its text side.
pub struct Decoder {
    /// The model.
    pub model: LlamaModel,
    /// Its tokenizer, template source, stop ids and pad token.
    pub text: DecoderTokens,
    /// Where the weights came from.
    pub source: PathBuf,
}

/// A decoder's text side: its tokenizer, chat template source, stop tokens, and the token that
/// pads its batches. It answers with its decoder's model, or with any model of the same
/// vocabulary (a training task's, once it owns the model).
pub struct DecoderTokens {
    tokenizer: Tokenizer,
    template: TemplateSource,
    stop_ids: Vec<u32>,
    /// BOS to put first when the model expects one and the template did not write it (GGUF).
    bos: Option<u32>,
    pad_id: u32,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("source", &self.source)
            .field("stop_ids", &self.text.stop_ids)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// The one loader: the model at `path` (a folder or a `.gguf` file) with `opts`, its
    /// tokenizer, template source and stop ids.
    pub fn load(path: &Path, opts: &LlamaLoadOptions) -> Result<Decoder> {
        let loaded = LlamaModel::load(path, opts)?;
        let model = loaded.model;
        let (tokenizer, template, stop_ids, bos) = match loaded.gguf_tokenizer {
            Some(gguf) => {
                let token = |id: Option<u32>| {
                    id.and_then(|i| gguf.tokenizer.id_to_token(i))
                        .unwrap_or_default()
                };
                let template = TemplateSource {
                    template: gguf.chat_template.clone(),
                    bos_token: token(gguf.special.bos),
                    eos_token: token(gguf.special.eos),
                };
                let bos = if gguf.special.add_bos {
                    gguf.special.bos
                } else {
                    None
                };
                (gguf.tokenizer, template, gguf.special.stop_ids(), bos)
            }
            None => {
                let tokenizer = TextTokenizer::from_dir(path)?.inner().clone();
                let config = TokenizerConfig::read(path)
                    .map_err(|e| EngineError::Checkpoint {
                        path: path.to_path_buf(),
                        reason: format!(
                            "its {} {}",
                            tunesmith_vocab::TOKENIZER_CONFIG_FILE,
                            e.reason
                        ),
                    })?
                    .unwrap_or_default();
                let mut stop = model.config().eos_ids();
                stop.extend(generation_eos_ids(path)?);
                stop.extend(tokenizer.token_to_id(&config.eos_token));
                stop.extend(END_OF_TURN.iter().filter_map(|t| tokenizer.token_to_id(t)));
                // A pad token that doubles as `<|endoftext|>` is still an end: keep it.
                stop.sort_unstable();
                stop.dedup();
                let template = TemplateSource {
                    template: config.chat_template,
                    bos_token: config.bos_token,
                    eos_token: config.eos_token,
                };
                (tokenizer, template, stop, None)
            }
        };
        let pad_id = tokenizer
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| tokenizer.token_to_id(&template.eos_token))
            .unwrap_or(0);
        Ok(Decoder {
            model,
            text: DecoderTokens {
                tokenizer,
                template,
                stop_ids,
                bos,
                pad_id,
            },
            source: path.to_path_buf(),
        })
    }

    /// Sets every trainable variable of the model from the training checkpoint at `path` (saved
    /// as `w.<name>`): a full fine-tune as it ended. One of another model or method is refused
    /// ([`EngineError::Invalid`], naming the file and the weights).
    pub fn restore(&self, path: &Path) -> Result<()> {
        let vars = match self.model.trainable().data().lock() {
            Ok(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>(),
            Err(_) => {
                return Err(EngineError::Invalid(
                    "the model's weights were poisoned by a panic".into(),
                ))
            }
        };
        restore_trainable(&vars, path, self.model.device())
    }

    /// The longest sequence (prompt and answer) the model reads.
    pub fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }
}

impl DecoderTokens {
    /// The model's chat template as text, with its special tokens.
    pub fn template(&self) -> &TemplateSource {
        &self.template
    }

    /// The token ids generation stops on (sorted, once each, for a model folder).
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// The token that pads batches.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The id of `token` in the vocabulary, if it has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// `text`'s token ids, no special tokens added. A text the tokenizer cannot take is
    /// [`EngineError::Invalid`] with the tokenizer's reason.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| EngineError::Invalid(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// How many tokens `text` is (no special tokens added).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| EngineError::Invalid(e.to_string()))?
            .len())
    }

    /// The token ids of a prompt already rendered as text. A rendered chat template holds its
    /// special tokens as text (`apply_chat_template` encodes without adding more), so
    /// `add_special` is false for it; plain text gets the tokenizer's own additions, as a bare
    /// prompt would. A GGUF model that expects a BOS gets one first when the text did not.
    pub fn prompt_ids(&self, rendered: &str, add_special: bool) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(rendered, add_special)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if let Some(bos) = self.bos {
            if enc.get_ids().first() != Some(&bos) {
                ids.push(bos);
            }
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// `text` (plain prose, no template) as scoring examples of at most `window` tokens each,
    /// every token after a window's first counted: the perplexity of general text under a model.
    pub fn text_examples(&self, text: &str, window: usize) -> Result<Vec<SftExample>> {
        let ids = self.encode(text)?;
        let window = window.max(2);
        ids.chunks(window)
            .filter(|w| w.len() >= 2)
            .map(|w| SftExample::new(&w[..1], w, w.len()))
            .collect()
    }

    /// The one generation entry point: `model`'s (of this vocabulary) answer to `ids`, at most
    /// `max_new_tokens`, each token chosen as `sampling` says, each new piece of text passed to
    /// `on_delta`; stops on the stop ids, at the context length, or when cancelled.
    pub fn generate(
        &self,
        model: &LlamaModel,
        ids: &[u32],
        max_new_tokens: usize,
        sampling: SamplingConfig,
        cancel: Option<&CancelHandle>,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Generated> {
        let cfg = GenerateConfig {
            max_new_tokens,
            sampling,
            stop_ids: self.stop_ids.clone(),
        };
        generate(model, &self.tokenizer, ids, &cfg, cancel, on_delta)
    }
}

/// The EOS ids a model folder's `generation_config.json` names (none when it has no such file).
fn generation_eos_ids(dir: &Path) -> Result<Vec<u32>> {
    let path = dir.join("generation_config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let gen: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| EngineError::Checkpoint {
            path: path.clone(),
            reason: format!("not valid JSON ({e}); restore it from the model's original files"),
        })?;
    Ok(match gen.get("eos_token_id") {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|v| v as u32).into_iter().collect(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_u64())
            .map(|v| v as u32)
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_llama() -> PathBuf {
        tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
    }

    #[test]
    fn a_model_folder_stops_on_its_eos_ids_and_end_of_turn_token_and_hands_on_its_template() {
        let d = Decoder::load(&tiny_llama(), &LlamaLoadOptions::default()).unwrap();
        let im_end = d.text.token_id("<|im_end|>").unwrap();
        // config.json's and generation_config.json's EOS (2), and the template's end of turn.
        assert!(d.text.stop_ids().contains(&2), "{:?}", d.text.stop_ids());
        assert!(
            d.text.stop_ids().contains(&im_end),
            "{:?}",
            d.text.stop_ids()
        );
        assert!(
            d.text.stop_ids().windows(2).all(|w| w[0] < w[1]),
            "sorted, once each"
        );
        let t = d.text.template();
        assert!(t.template.as_deref().unwrap().contains("<|im_start|>"));
    }

    #[test]
    fn a_damaged_generation_config_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("generation_config.json"), "{ not json").unwrap();
        let err = generation_eos_ids(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("generation_config.json") && err.contains("not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn plain_text_is_scored_in_windows_of_at_least_two_tokens() {
        let d = Decoder::load(&tiny_llama(), &LlamaLoadOptions::default()).unwrap();
        let text = "the cat sat on the mat and the dog sat on the log";
        let n = d.text.encode(text).unwrap().len();
        let windows = d.text.text_examples(text, 4).unwrap();
        assert_eq!(windows.len(), n.div_ceil(4) - usize::from(n % 4 == 1));
        assert_eq!(d.text.count_tokens(text).unwrap(), n);
    }
}
