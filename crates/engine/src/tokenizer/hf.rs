//! A checkpoint's own `tokenizer.json` (Hugging Face `tokenizers`), with batching into padded
//! tensors.
//!
//! Promises: the tokenizer is used exactly as the checkpoint ships it (normaliser, pre-tokeniser,
//! post-processor adding `[CLS]`/`[SEP]` or nothing); a batch is right-padded with the tokenizer's
//! pad id and comes with an attention mask; truncation keeps the special tokens.
//!
//! A damaged `tokenizer.json` is refused with its name and what is wrong, never a crash: the file's
//! size is capped, its JSON and top-level shape are checked first, and the `tokenizers` library
//! (which panics on some shapes, e.g. a file without `model`) is called behind `catch_unwind`.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::{EngineError, Result};
use tunesmith_vocab::bpe_cache::drop_bpe_cache;

/// A tokenizer loaded from `tokenizer.json`.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    path: PathBuf,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("path", &self.path)
            .field("pad_id", &self.pad_id)
            .finish()
    }
}

/// `tokenizer.json` files above this size are refused (the largest real ones are tens of MB).
pub const MAX_TOKENIZER_BYTES: u64 = 512 * 1024 * 1024;

/// Reads and checks `path` as a `tokenizer.json`: every tokenizer.json the engine loads comes
/// through here.
pub(crate) fn read_tokenizer(path: &Path) -> Result<Tokenizer> {
    let bad = |reason: String| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| bad(format!("cannot be read: {e}")))?
        .len();
    if len > MAX_TOKENIZER_BYTES {
        return Err(bad(format!(
            "is {len} bytes, more than any real tokenizer.json; the file is damaged or not a tokenizer"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read as text: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "is not valid JSON ({e}); the file is damaged: download the model again"
        ))
    })?;
    let Some(top) = v.as_object() else {
        return Err(bad(
            "is not a JSON object: it is not a tokenizer.json".into()
        ));
    };
    if !top.get("model").is_some_and(serde_json::Value::is_object) {
        return Err(bad(
            "has no `model` section: it is damaged or not a tokenizer.json (download the model again)"
                .into(),
        ));
    }
    for key in [
        "normalizer",
        "pre_tokenizer",
        "post_processor",
        "decoder",
        "truncation",
        "padding",
    ] {
        if top
            .get(key)
            .is_some_and(|x| !(x.is_null() || x.is_object()))
        {
            return Err(bad(format!(
                "has a `{key}` that is neither null nor an object: the file is damaged (download the model again)"
            )));
        }
    }
    // The library panics on some malformed files instead of answering an error: contain it.
    let mut tokenizer = match std::panic::catch_unwind(|| text.parse::<Tokenizer>()) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(bad(format!("is not a usable tokenizer.json: {e}"))),
        Err(_) => {
            return Err(bad(
                "is not a usable tokenizer.json: the tokenizers library could not read it (it is damaged; \
                 download the model again)"
                    .into(),
            ))
        }
    };
    // Without the library's BPE word cache, which would stay in memory after this tokenizer.
    drop_bpe_cache(&mut tokenizer, &v["model"])
        .map_err(|e| bad(format!("is not a usable tokenizer.json: {e}")))?;
    Ok(tokenizer)
}

/// A batch of token ids, right-padded.
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    /// `[batch, seq]` token ids (u32).
    pub input_ids: Tensor,
    /// `[batch, seq]` 1 for tokens, 0 for padding (u32).
    pub attention_mask: Tensor,
    /// Each row's unpadded length.
    pub lengths: Vec<usize>,
}

impl TextTokenizer {
    /// Loads `path` (a `tokenizer.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = read_tokenizer(path)?;
        let pad_id = inner
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| {
                [
                    "[PAD]",
                    "<pad>",
                    "<|endoftext|>",
                    "<|finetune_right_pad_id|>",
                ]
                .iter()
                .find_map(|t| inner.token_to_id(t))
            })
            .unwrap_or(0);
        Ok(Self {
            inner,
            pad_id,
            path: path.to_path_buf(),
        })
    }

    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(EngineError::Checkpoint {
                path,
                reason: "is missing; the model folder needs its tokenizer.json".into(),
            });
        }
        Self::from_file(&path)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// The id used for padding.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of `token`, if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Token ids of `text`, with the post-processor's special tokens when `special`.
    pub fn encode(&self, text: &str, special: bool) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, special).map_err(|e| self.err(e))?;
        // A tokenizer.json may ask for fixed-length padding (sentence-transformers models ship
        // `"Fixed": 128`). Padding is ours to add per batch, with an attention mask; kept here, the
        // pad ids would pass for text: attended, mean-pooled, and up to 10x the compute.
        Ok(enc
            .get_ids()
            .iter()
            .zip(enc.get_attention_mask())
            .filter(|(_, &m)| m == 1)
            .map(|(&id, _)| id)
            .collect())
    }

    /// Text of `ids`, dropping special tokens when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| self.err(e))
    }

    /// Encodes `texts` with special tokens, each truncated to `max_len` tokens (specials kept), and
    /// right-pads them into `[batch, longest]` tensors on `device`.
    pub fn encode_batch(
        &self,
        texts: &[&str],
        max_len: usize,
        device: &Device,
    ) -> Result<EncodedBatch> {
        if texts.is_empty() {
            return Err(EngineError::Invalid(
                "cannot tokenise an empty batch".into(),
            ));
        }
        let mut tok = self.inner.clone();
        tok.with_truncation(Some(TruncationParams {
            max_length: max_len,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| self.err(e))?;
        tok.with_padding(None);
        let encs = tok
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| self.err(e))?;
        let seqs: Vec<Vec<u32>> = encs.iter().map(|e| e.get_ids().to_vec()).collect();
        Self::pad(&seqs, self.pad_id, device)
    }

    /// Right-pads already tokenised `seqs` with `pad_id` into tensors on `device`.
    pub fn pad(seqs: &[Vec<u32>], pad_id: u32, device: &Device) -> Result<EncodedBatch> {
        let longest = seqs.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(seqs.len() * longest);
        let mut mask = Vec::with_capacity(seqs.len() * longest);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(pad_id, longest - s.len()));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, longest - s.len()));
        }
        Ok(EncodedBatch {
            input_ids: Tensor::from_vec(ids, (seqs.len(), longest), device)?,
            attention_mask: Tensor::from_vec(mask, (seqs.len(), longest), device)?,
            lengths: seqs.iter().map(Vec::len).collect(),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> EngineError {
        EngineError::Checkpoint {
            path: self.path.clone(),
            reason: format!("tokenisation failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_bert_tokenizer() -> serde_json::Value {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/tiny-bert/tokenizer.json");
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("json")
    }

    #[test]
    fn a_tokenizer_json_without_its_model_is_refused_by_name_instead_of_crashing() {
        // The tokenizers library panics ("Helper") on this one.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut json = tiny_bert_tokenizer();
        json.as_object_mut().expect("object").remove("model");
        let p = dir.path().join("tokenizer.json");
        std::fs::write(&p, json.to_string()).expect("write");
        let e = TextTokenizer::from_file(&p).expect_err("refused").to_string();
        assert!(e.contains("tokenizer.json") && e.contains("`model`"), "{e}");
        json = tiny_bert_tokenizer();
        json["decoder"] = serde_json::json!(7);
        std::fs::write(&p, json.to_string()).expect("write");
        let e = TextTokenizer::from_file(&p).expect_err("refused").to_string();
        assert!(e.contains("`decoder`"), "{e}");
    }

    #[test]
    fn a_truncated_tokenizer_json_is_refused_with_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = tiny_bert_tokenizer().to_string();
        let p = dir.path().join("tokenizer.json");
        std::fs::write(&p, &text[..text.len() / 2]).expect("write");
        let e = TextTokenizer::from_file(&p).expect_err("refused").to_string();
        assert!(e.contains("tokenizer.json") && e.contains("not valid JSON"), "{e}");
    }

    /// The tiny BERT fixture's tokenizer.json with the fixed padding sentence-transformers ship.
    fn padded_tokenizer(dir: &Path) -> PathBuf {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/tiny-bert/tokenizer.json");
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture"))
                .expect("json");
        json["padding"] = serde_json::json!({
            "strategy": {"Fixed": 32}, "direction": "Right", "pad_to_multiple_of": null,
            "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"
        });
        let p = dir.join("tokenizer.json");
        std::fs::write(&p, json.to_string()).expect("write");
        p
    }

    #[test]
    fn a_tokenizer_json_asking_for_fixed_padding_still_encodes_only_the_text() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let padded = TextTokenizer::from_file(&padded_tokenizer(dir.path()))?;
        let plain = TextTokenizer::from_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-bert"),
        )?;
        let ids = padded.encode("good fine", true)?;
        assert_eq!(ids, plain.encode("good fine", true)?);
        assert!(ids.len() < 32, "{ids:?}");
        assert_eq!(padded.pad_id(), 0);
        Ok(())
    }
}
