//! A model folder's `tokenizer_config.json`, read in one place: its chat template, the names of
//! its BOS and EOS tokens, and its `model_max_length`.
//!
//! Hugging Face writes the special tokens either as strings (`"eos_token": "<|im_end|>"`) or as
//! added-token objects (`{"content": "<|im_end|>", ...}`), and the template either as one string
//! or as a list of named templates (the one named `default` is the chat template). Everything that
//! reads a model's text side (the data doctor, training, chat, job export) goes through here.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::template::ChatTemplate;

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
    /// The longest input the tokenizer is meant for, when the file gives a plausible one.
    pub model_max_length: Option<f64>,
}

impl TokenizerConfig {
    /// Reads `dir/tokenizer_config.json`: `None` when the folder has none; an error naming the
    /// file when it is there but not JSON.
    pub fn read(dir: &Path) -> Result<Option<TokenizerConfig>> {
        let path = dir.join(TOKENIZER_CONFIG_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| not_json(&path, &e))?;
        Ok(Some(TokenizerConfig::parse(&value)))
    }

    /// What a parsed `tokenizer_config.json` says (fields it lacks are left empty).
    pub fn parse(config: &serde_json::Value) -> TokenizerConfig {
        let token = |key: &str| -> String {
            match config.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_string(),
                None => String::new(),
            }
        };
        let chat_template = match config.get("chat_template") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(list)) => {
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
            // Tokenizers without a limit write a huge sentinel (1e30): not a context length.
            model_max_length: config
                .get("model_max_length")
                .and_then(|v| v.as_f64())
                .filter(|&x| x > 0.0 && x < 1e7),
        }
    }

    /// The chat template compiled with the file's special tokens; `None` when it has none.
    pub fn template(&self) -> Result<Option<ChatTemplate>> {
        match &self.chat_template {
            Some(t) => ChatTemplate::new(t, &self.bos_token, &self.eos_token).map(Some),
            None => Ok(None),
        }
    }
}

fn not_json(path: &Path, e: &serde_json::Error) -> DataError {
    DataError::Model {
        path: path.parent().map(PathBuf::from).unwrap_or_default(),
        reason: format!(
            "its {TOKENIZER_CONFIG_FILE} is not valid JSON ({e}); restore it from the model's original files"
        ),
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
            "model_max_length": 2048,
        }));
        assert_eq!(
            (c.bos_token.as_str(), c.eos_token.as_str()),
            ("<s>", "</s>")
        );
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
    }

    #[test]
    fn a_folder_without_the_file_has_none_and_a_damaged_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TokenizerConfig::read(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(TOKENIZER_CONFIG_FILE), "{ not json").unwrap();
        let err = TokenizerConfig::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(TOKENIZER_CONFIG_FILE) && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
