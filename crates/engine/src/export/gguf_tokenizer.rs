//! A checkpoint folder's `tokenizer.json` (+ `tokenizer_config.json`) as GGUF tokenizer metadata
//! (`tokenizer.ggml.*`), the way llama.cpp's converter writes it.
//!
//! Only byte-level BPE tokenizers whose pre-tokenizer llama.cpp knows by name are translated
//! (GPT-2's, SmolLM's, Qwen2's, Llama 3's); anything else is refused with the way out, because a
//! GGUF whose tokenizer splits text differently from the model's own would answer subtly worse
//! with no error anywhere. [`crate::tokenizer::GgufTokenizer`] reads the result back, and the tests
//! check the two tokenizers agree token for token.

use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use serde_json::Value as Json;

use crate::models::checkpoint::read_json;
use crate::models::llama_config::LlamaConfig;
use crate::tokenizer::gguf::{LLAMA3_SPLIT, QWEN2_SPLIT};
use crate::{EngineError, Result};
use tunesmith_vocab::TokenizerConfig;

/// llama.cpp's token types.
const NORMAL: i32 = 1;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;

fn refuse(path: &Path, why: &str) -> EngineError {
    EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!(
            "{why}, which Tunesmith cannot write into a GGUF file; export the merged model (safetensors) and \
             convert it with llama.cpp's convert_hf_to_gguf.py"
        ),
    }
}

/// The `tokenizer.ggml.*` metadata for the tokenizer in `folder`, with `vocab_size` entries
/// (padding the list as llama.cpp does when the embedding has more rows than the tokenizer tokens).
pub fn tokenizer_metadata(folder: &Path, config: &LlamaConfig) -> Result<Vec<(String, Value)>> {
    let path = folder.join("tokenizer.json");
    let tok: Json = read_json(&path)?;
    let model = &tok["model"];
    if model["type"].as_str() != Some("BPE") {
        return Err(refuse(&path, "its tokenizer is not byte-level BPE"));
    }
    if !tok["normalizer"].is_null() {
        return Err(refuse(&path, "its tokenizer normalises text first"));
    }
    let pre = llama_cpp_pre(&tok["pre_tokenizer"])
        .ok_or_else(|| refuse(&path, "its pre-tokenizer is not one llama.cpp names"))?;

    let mut tokens: Vec<Option<(String, i32)>> = Vec::new();
    let mut put = |id: usize, text: String, kind: i32| {
        if tokens.len() <= id {
            tokens.resize(id + 1, None);
        }
        tokens[id] = Some((text, kind));
    };
    let vocab = model["vocab"]
        .as_object()
        .ok_or_else(|| refuse(&path, "its BPE model has no vocabulary"))?;
    for (text, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| refuse(&path, "its vocabulary has a non-numeric id"))?;
        put(id as usize, text.clone(), NORMAL);
    }
    for added in tok["added_tokens"].as_array().into_iter().flatten() {
        let (Some(id), Some(text)) = (added["id"].as_u64(), added["content"].as_str()) else {
            continue;
        };
        let kind = if added["special"].as_bool().unwrap_or(false) {
            CONTROL
        } else {
            USER_DEFINED
        };
        put(id as usize, text.to_string(), kind);
    }
    let n = tokens.len().max(config.vocab_size);
    let (mut texts, mut kinds) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (text, kind) = tokens
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| (format!("[PAD{i}]"), UNUSED));
        texts.push(Value::String(text));
        kinds.push(Value::I32(kind));
    }

    let merges: Vec<Value> = model["merges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| match m {
            Json::String(s) => Some(s.clone()),
            Json::Array(pair) => match (pair.first(), pair.get(1)) {
                (Some(Json::String(a)), Some(Json::String(b))) => Some(format!("{a} {b}")),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| refuse(&path, "its merges are neither \"a b\" strings nor pairs"))?
        .into_iter()
        .map(Value::String)
        .collect();

    let tc = TokenizerConfig::read(folder)
        .map_err(|e| EngineError::Checkpoint {
            path: e.path,
            reason: e.reason,
        })?
        .unwrap_or_default();
    let id_of = |text: &str| -> Option<u32> {
        if text.is_empty() {
            return None;
        }
        texts
            .iter()
            .position(|t| matches!(t, Value::String(s) if s == text))
            .map(|i| i as u32)
    };
    let bos = config
        .bos_token_id
        .as_ref()
        .and_then(|t| t.to_vec().first().copied())
        .or_else(|| id_of(&tc.bos_token));
    let eos = config
        .eos_token_id
        .as_ref()
        .and_then(|t| t.to_vec().first().copied())
        .or_else(|| id_of(&tc.eos_token));
    let pad = id_of(&tc.pad_token);
    let add_bos = tc.add_bos_token;
    let chat_template = tc
        .chat_template
        .or_else(|| std::fs::read_to_string(folder.join("chat_template.jinja")).ok());

    let mut meta = vec![
        (
            "tokenizer.ggml.model".to_string(),
            Value::String("gpt2".into()),
        ),
        ("tokenizer.ggml.pre".to_string(), Value::String(pre.into())),
        ("tokenizer.ggml.tokens".to_string(), Value::Array(texts)),
        ("tokenizer.ggml.token_type".to_string(), Value::Array(kinds)),
        ("tokenizer.ggml.merges".to_string(), Value::Array(merges)),
        (
            "tokenizer.ggml.add_bos_token".to_string(),
            Value::Bool(add_bos),
        ),
    ];
    for (key, id) in [
        ("tokenizer.ggml.bos_token_id", bos),
        ("tokenizer.ggml.eos_token_id", eos),
        ("tokenizer.ggml.padding_token_id", pad),
    ] {
        if let Some(id) = id {
            meta.push((key.to_string(), Value::U32(id)));
        }
    }
    if let Some(t) = chat_template {
        meta.push(("tokenizer.chat_template".to_string(), Value::String(t)));
    }
    Ok(meta)
}

/// llama.cpp's name (`tokenizer.ggml.pre`) for a `tokenizer.json` pre-tokenizer, when it is one that
/// [`crate::tokenizer::GgufTokenizer`] rebuilds exactly.
fn llama_cpp_pre(pre: &Json) -> Option<&'static str> {
    let byte_level = |p: &Json, regex: bool| {
        p["type"] == "ByteLevel"
            && !p["add_prefix_space"].as_bool().unwrap_or(false)
            && p["use_regex"].as_bool().unwrap_or(true) == regex
    };
    if byte_level(pre, true) {
        return Some("gpt-2");
    }
    if pre["type"] != "Sequence" {
        return None;
    }
    match pre["pretokenizers"].as_array()?.as_slice() {
        [digits, bl]
            if digits["type"] == "Digits"
                && digits["individual_digits"].as_bool() == Some(true)
                && byte_level(bl, true) =>
        {
            Some("smollm")
        }
        [split, bl]
            if split["type"] == "Split"
                && split["behavior"] == "Isolated"
                && !split["invert"].as_bool().unwrap_or(false)
                && byte_level(bl, false) =>
        {
            match split["pattern"]["Regex"].as_str()? {
                r if r == QWEN2_SPLIT => Some("qwen2"),
                r if r == LLAMA3_SPLIT => Some("llama-bpe"),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_pre_tokenizers_get_llama_cpps_names_and_others_none() {
        let bl = json!({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true});
        assert_eq!(llama_cpp_pre(&bl), Some("gpt-2"));
        let smollm = json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, bl]});
        assert_eq!(llama_cpp_pre(&smollm), Some("smollm"));
        let qwen = json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]});
        assert_eq!(llama_cpp_pre(&qwen), Some("qwen2"));
        let prefix_space =
            json!({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true});
        assert_eq!(llama_cpp_pre(&prefix_space), None);
        assert_eq!(llama_cpp_pre(&json!({"type": "Metaspace"})), None);
    }
}
