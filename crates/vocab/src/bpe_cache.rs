//! BPE tokenizers without the `tokenizers` library's word cache, which leaks.
//!
//! tokenizers 0.23 keeps every BPE model's word cache in one thread-local map, keyed by an id per
//! model, and nothing removes a model's entries when the model is dropped: each tokenizer loaded
//! and used leaves up to 10,000 cached words on every thread that encoded with it, for the life of
//! the process. The app loads a tokenizer per job (train, evaluate, chat, compare, a data check),
//! so it grew job by job. The fuzz tier found it: loading and using a tokenizer per case grew the
//! process by about 400 bytes a case, and the engine's `tokenizer.json` target ran out of its
//! 4 GiB after about 7.7 million cases.
//!
//! A BPE built with cache capacity 0 has no cache and never touches that map. Its ids are the
//! same: the cache only remembers merges already computed. The engine and the data crate both load
//! tokenizers, so this lives here, behind the `tokenizers` feature they turn on.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use tokenizers::models::bpe::{BpeBuilder, Vocab, BPE};
use tokenizers::ModelWrapper;
use tokenizers::Tokenizer;

/// Sets `builder` to build without a word cache.
pub fn uncached(builder: BpeBuilder) -> BpeBuilder {
    builder.cache_capacity(0)
}

/// Replaces `tokenizer`'s model, when it is a BPE, by the same model without a word cache, built
/// from `model` (the `model` object of the tokenizer.json it was read from) as the library's own
/// reader builds it. Other models (WordPiece, Unigram, WordLevel) keep no cache beyond their own
/// life and are left as they are.
pub fn drop_bpe_cache(tokenizer: &mut Tokenizer, model: &Value) -> Result<(), String> {
    let ModelWrapper::BPE(bpe) = tokenizer.get_model() else {
        return Ok(());
    };
    let builder = builder_like(bpe, model)?;
    // The library built the same model from the same parts already; should its builder panic on
    // a damaged file all the same, that is a refusal, not a crash.
    let rebuilt = std::panic::catch_unwind(move || builder.build())
        .map_err(|_| "its BPE model could not be rebuilt".to_string())?
        .map_err(|e| format!("its BPE model could not be rebuilt: {e}"))?;
    tokenizer.with_model(rebuilt);
    Ok(())
}

/// A builder of `bpe` with cache capacity 0: the vocabulary and merges as the file lists them
/// (the merges in rank order, as pairs or in the older "a b" form), the settings as `bpe` has them.
fn builder_like(bpe: &BPE, model: &Value) -> Result<BpeBuilder, String> {
    let vocab = HashMap::<String, u32>::deserialize(&model["vocab"])
        .map_err(|e| format!("its BPE vocabulary could not be read: {e}"))?;
    let merges = merges(&model["merges"])?;
    let mut builder = uncached(BPE::builder())
        .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
        .fuse_unk(bpe.fuse_unk)
        .byte_fallback(bpe.byte_fallback)
        .ignore_merges(bpe.ignore_merges);
    if let Some(p) = bpe.dropout {
        builder = builder.dropout(p);
    }
    if let Some(unk) = &bpe.unk_token {
        builder = builder.unk_token(unk.clone());
    }
    if let Some(prefix) = &bpe.continuing_subword_prefix {
        builder = builder.continuing_subword_prefix(prefix.clone());
    }
    if let Some(suffix) = &bpe.end_of_word_suffix {
        builder = builder.end_of_word_suffix(suffix.clone());
    }
    Ok(builder)
}

/// A tokenizer.json's merges: `[["a", "b"], ...]`, or the older `["a b", ...]` (lines starting
/// with `#version` skipped, each other line exactly two tokens separated by one space).
fn merges(listed: &Value) -> Result<Vec<(String, String)>, String> {
    if let Ok(pairs) = Vec::<(String, String)>::deserialize(listed) {
        return Ok(pairs);
    }
    let lines = Vec::<String>::deserialize(listed)
        .map_err(|e| format!("its BPE merges could not be read: {e}"))?;
    lines
        .iter()
        .filter(|l| !l.starts_with("#version"))
        .enumerate()
        .map(
            |(rank, line)| match line.split(' ').collect::<Vec<_>>()[..] {
                [a, b] => Ok((a.to_string(), b.to_string())),
                _ => Err(format!("its BPE merge {} is not two tokens", rank + 1)),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;

    /// A small BPE split on whitespace, with an unknown token, built with the library's cache.
    fn cached() -> Tokenizer {
        let vocab: Vocab = ["<unk>", "a", "b", "c", "ab", "abc", "##b", "a##b"]
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let merges = vec![("a".into(), "b".into()), ("ab".into(), "c".into())];
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .unk_token("<unk>".into())
            .fuse_unk(true)
            .build()
            .unwrap();
        let mut t = Tokenizer::new(bpe);
        t.with_pre_tokenizer(Some(Whitespace {}));
        t
    }

    /// The `model` object of `t`'s tokenizer.json.
    fn model_json(t: &Tokenizer) -> Value {
        serde_json::to_value(t.get_model()).unwrap()
    }

    #[test]
    fn the_older_merges_form_reads_as_the_pairs() {
        let pairs = serde_json::json!([["a", "b"], ["ab", "c"]]);
        let lines = serde_json::json!(["#version: 0.2", "a b", "ab c"]);
        assert_eq!(merges(&pairs).unwrap(), merges(&lines).unwrap());
        assert!(merges(&serde_json::json!(["a b c"]))
            .unwrap_err()
            .contains("merge 1"));
    }

    #[test]
    fn the_uncached_tokenizer_gives_the_same_ids() {
        let cached = cached();
        let mut uncached = cached.clone();
        drop_bpe_cache(&mut uncached, &model_json(&cached)).unwrap();
        for text in ["abc ab a b c", "abcabc xyz ab", "", "cba bca"] {
            let a = cached.encode(text, true).unwrap();
            let b = uncached.encode(text, true).unwrap();
            assert_eq!(a.get_ids(), b.get_ids(), "{text}");
        }
    }

    #[test]
    fn the_rebuilt_model_serialises_as_the_original() {
        let cached = cached();
        let mut uncached = cached.clone();
        drop_bpe_cache(&mut uncached, &model_json(&cached)).unwrap();
        assert_eq!(
            serde_json::to_value(cached.get_model()).unwrap(),
            serde_json::to_value(uncached.get_model()).unwrap()
        );
    }

    #[test]
    fn a_model_without_a_word_cache_of_its_kind_is_left_as_it_is() {
        use tokenizers::models::wordlevel::WordLevel;
        let vocab = [("a".to_string(), 0u32), ("<unk>".to_string(), 1)]
            .into_iter()
            .collect();
        let model = WordLevel::builder()
            .vocab(vocab)
            .unk_token("<unk>".into())
            .build()
            .unwrap();
        let mut t = Tokenizer::new(model);
        drop_bpe_cache(&mut t, &serde_json::json!({})).unwrap();
        assert!(matches!(t.get_model(), ModelWrapper::WordLevel(_)));
    }
}
