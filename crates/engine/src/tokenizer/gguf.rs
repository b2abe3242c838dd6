//! A Hugging Face `Tokenizer` rebuilt from GGUF metadata, matching the model's own `tokenizer.json`.
//!
//! GGUF stores a byte-level BPE tokenizer (`tokenizer.ggml.model = gpt2`) as its vocabulary
//! (`tokens`, already in byte-level alphabet), its merges, token types (3 = control, 4 =
//! user-defined: both are matched whole, like `tokenizer.json`'s added tokens) and a pre-tokenizer
//! name (`tokenizer.ggml.pre`). We rebuild exactly that: no prefix space, byte-level decoding, and the
//! pre-tokenizer regex of the named family. A family we do not know is an error, not a guess: a wrong
//! split would silently change every token id.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::gguf::GgufFile;
use crate::{EngineError, Result};
use tunesmith_vocab::bpe_cache::uncached;

/// Qwen2's pre-tokenizer split (from its `tokenizer.json`).
pub(crate) const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's pre-tokenizer split (from its `tokenizer.json`).
pub(crate) const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The ids generation needs to know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecialTokens {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// End of sequence.
    pub eos: Option<u32>,
    /// Padding.
    pub pad: Option<u32>,
    /// Whether the model expects a BOS token before every prompt.
    pub add_bos: bool,
    /// End-of-turn tokens of chat templates found in the vocabulary (`<|im_end|>`, `<|eot_id|>`,
    /// `<|end|>`, `<end_of_turn>`), on which generation stops as on EOS.
    pub end_of_turn: Vec<u32>,
}

impl SpecialTokens {
    /// Every id generation stops on: EOS and the end-of-turn tokens.
    pub fn stop_ids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .eos
            .into_iter()
            .chain(self.end_of_turn.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A tokenizer from a GGUF file, with its special ids and chat template.
#[derive(Clone)]
pub struct GgufTokenizer {
    /// The rebuilt tokenizer.
    pub tokenizer: Tokenizer,
    /// Special ids.
    pub special: SpecialTokens,
    /// The Jinja chat template (`tokenizer.chat_template`), if the file has one.
    pub chat_template: Option<String>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("special", &self.special)
            .finish_non_exhaustive()
    }
}

/// Chat templates' end-of-turn markers.
pub const END_OF_TURN: &[&str] = &[
    "<|im_end|>",
    "<|eot_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
];

impl GgufTokenizer {
    /// Rebuilds the tokenizer stored in `file`.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let bad = |reason: String| EngineError::Checkpoint {
            path: file.path().to_path_buf(),
            reason,
        };
        let model = file.string("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(bad(format!(
                "its tokenizer is `{model}`, not byte-level BPE (`gpt2`); SentencePiece GGUF tokenizers are \
                 not supported: import the model's folder with its tokenizer.json instead"
            )));
        }
        let tokens = file.strings("tokenizer.ggml.tokens")?;
        let merges = file.strings("tokenizer.ggml.merges")?;
        let types = file.ints("tokenizer.ggml.token_type").unwrap_or_default();
        let pre = file
            .string("tokenizer.ggml.pre")
            .unwrap_or_else(|_| "default".into());

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let merges: Vec<(String, String)> = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| {
                        bad(format!(
                            "tokenizer merge `{m}` is not two tokens separated by a space"
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        let bpe = uncached(BPE::builder())
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| bad(format!("cannot build its BPE tokenizer: {e}")))?;
        let mut tok = Tokenizer::new(bpe);
        tok.with_pre_tokenizer(Some(pre_tokenizer(&pre).map_err(bad)?));
        tok.with_decoder(Some(ByteLevelDecoder::default()));

        let special: Vec<AddedToken> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(types.get(*i), Some(3) | Some(4)))
            .map(|(_, t)| AddedToken::from(t.clone(), true))
            .collect();
        tok.add_special_tokens(special)
            .map_err(|e| bad(format!("cannot register its special tokens: {e}")))?;

        let id = |key: &str| file.uint(key).ok().map(|v| v as u32);
        let end_of_turn = END_OF_TURN
            .iter()
            .filter_map(|t| tok.token_to_id(t))
            .collect();
        let special = SpecialTokens {
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            pad: id("tokenizer.ggml.padding_token_id"),
            add_bos: file
                .boolean("tokenizer.ggml.add_bos_token")
                .unwrap_or(false),
            end_of_turn,
        };
        let chat_template = file.string("tokenizer.chat_template").ok();
        Ok(Self {
            tokenizer: tok,
            special,
            chat_template,
        })
    }

    /// Token ids for `text`, with special tokens matched whole and no prefix space; a BOS id first
    /// when the model expects one.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| EngineError::Invalid(format!("cannot tokenise the text: {e}")))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.special.add_bos {
            ids.extend(self.special.bos);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Text for `ids`, special tokens skipped when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.tokenizer
            .decode(ids, skip_special)
            .map_err(|e| EngineError::Invalid(format!("cannot decode tokens: {e}")))
    }
}

/// The pre-tokenizer llama.cpp's `tokenizer.ggml.pre` name stands for.
fn pre_tokenizer(pre: &str) -> std::result::Result<PreTokenizerWrapper, String> {
    let byte_level =
        |use_regex: bool| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, use_regex));
    let split = |re: &str| -> std::result::Result<PreTokenizerWrapper, String> {
        Split::new(
            SplitPattern::Regex(re.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map(PreTokenizerWrapper::Split)
        .map_err(|e| format!("cannot compile the pre-tokenizer regex: {e}"))
    };
    Ok(match pre {
        "default" | "gpt2" | "gpt-2" => byte_level(true),
        // SmolLM: digits one by one, then GPT-2's split (its tokenizer.json's Sequence).
        "smollm" | "starcoder" => PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])),
        "qwen2" => PreTokenizerWrapper::Sequence(Sequence::new(vec![split(QWEN2_SPLIT)?, byte_level(false)])),
        "llama-bpe" | "llama3" | "smaug-bpe" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(LLAMA3_SPLIT)?, byte_level(false)]))
        }
        other => {
            return Err(format!(
                "its tokenizer's pre-tokenizer `{other}` is not supported (supported: gpt2, smollm, qwen2, \
                 llama-bpe); import the model's folder with its tokenizer.json instead"
            ))
        }
    })
}
