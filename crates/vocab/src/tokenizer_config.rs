//! A model folder's `tokenizer_config.json`, read in one place: its chat template, the texts of its
//! special tokens, whether a BOS token is prepended, and its `model_max_length`.
//!
//! Hugging Face writes the special tokens either as strings (`"eos_token": "<|im_end|>"`) or as
//! added-token objects (`{"content": "<|im_end|>", ...}`), and the template either as one string
//! or as a list of named templates (the one named `default` is the chat template). Everything that
//! reads a model's text side (the data doctor, training, chat, export) goes through here.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The file's name in a model folder.
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";

/// What a `tokenizer_config.json` says about the model's text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizerConfig {
    /// The Jinja chat template, when the file has one.
    pub chat_template: Option<String>,
    /// The BOS token's text (empty when not given).
    pub bos_token: String,
    /// The EOS token's text (empty when not given).
    pub eos_token: String,
    /// The padding token's text (empty when not given).
    pub pad_token: String,
    /// Whether the tokenizer prepends the BOS token (`add_bos_token`; false when not given).
    pub add_bos_token: bool,
    /// The longest input the tokenizer is meant for, when the file gives a plausible one.
    pub model_max_length: Option<f64>,
}

/// A `tokenizer_config.json` that is there but cannot be read as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableTokenizerConfig {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, in words, with what to do.
    pub reason: String,
}

impl std::fmt::Display for UnreadableTokenizerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for UnreadableTokenizerConfig {}

impl TokenizerConfig {
    /// Reads `dir/tokenizer_config.json`: `None` when the folder has none; an error naming the
    /// file when it is there but not JSON.
    pub fn read(dir: &Path) -> Result<Option<TokenizerConfig>, UnreadableTokenizerConfig> {
        let path = dir.join(TOKENIZER_CONFIG_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => Ok(Some(TokenizerConfig::parse(&value))),
            Err(e) => Err(UnreadableTokenizerConfig {
                path,
                reason: format!(
                    "is not valid JSON ({e}); restore it from the model's original files"
                ),
            }),
        }
    }

    /// What a parsed `tokenizer_config.json` says (fields it lacks are left empty).
    pub fn parse(config: &Value) -> TokenizerConfig {
        let token = |key: &str| -> String {
            match config.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_string(),
                None => String::new(),
            }
        };
        let chat_template = match config.get("chat_template") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(list)) => {
                let named = |n: &str| {
                    list.iter()
                        .find(|t| t.get("name").and_then(|x| x.as_str()) == Some(n))
                };
                named("default")
                    .or_else(|| list.first())
                    .and_then(|t| t.get("template"))
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            }
            _ => None,
        };
        TokenizerConfig {
            chat_template,
            bos_token: token("bos_token"),
            eos_token: token("eos_token"),
            pad_token: token("pad_token"),
            add_bos_token: config
                .get("add_bos_token")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            // Tokenizers without a limit write a huge sentinel (1e30): not a context length.
            model_max_length: config
                .get("model_max_length")
                .and_then(|v| v.as_f64())
                .filter(|&x| x > 0.0 && x < 1e7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_tokens_are_read_as_strings_or_added_token_objects() {
        let c = TokenizerConfig::parse(&serde_json::json!({
            "bos_token": "<s>",
            "eos_token": {"content": "</s>", "lstrip": false},
            "pad_token": "<pad>",
            "add_bos_token": true,
            "model_max_length": 2048,
        }));
        assert_eq!(
            (c.bos_token.as_str(), c.eos_token.as_str(), c.pad_token.as_str()),
            ("<s>", "</s>", "<pad>")
        );
        assert!(c.add_bos_token);
        assert_eq!(c.model_max_length, Some(2048.0));
        assert_eq!(c.chat_template, None);
    }

    #[test]
    fn a_list_of_named_templates_gives_the_default_one_and_a_sentinel_length_is_no_length() {
        let c = TokenizerConfig::parse(&serde_json::json!({
            "chat_template": [
                {"name": "tool_use", "template": "tools"},
                {"name": "default", "template": "chat"},
            ],
            "model_max_length": 1e30,
        }));
        assert_eq!(c.chat_template.as_deref(), Some("chat"));
        assert_eq!(c.model_max_length, None);
        assert!(!c.add_bos_token);
    }

    #[test]
    fn a_folder_without_the_file_has_none_and_a_damaged_file_is_named() {
        let dir = std::env::temp_dir().join(format!("vocab-tc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(TokenizerConfig::read(&dir).unwrap(), None);
        std::fs::write(dir.join(TOKENIZER_CONFIG_FILE), "{ not json").unwrap();
        let err = TokenizerConfig::read(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains(TOKENIZER_CONFIG_FILE) && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
