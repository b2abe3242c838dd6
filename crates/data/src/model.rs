//! What the data doctor needs from a model folder: its tokenizer (for token lengths), its context
//! length, and its chat template (for turning conversations into training text).
//!
//! A model folder is what the hub downloads or the user imports: `tokenizer.json`, and optionally
//! `tokenizer_config.json` (`chat_template`, `model_max_length`, `bos_token`, `eos_token`) and
//! `config.json` (`max_position_embeddings`).

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::length::LengthCounter;
use crate::template::ChatTemplate;
use crate::tokenizer_config::TokenizerConfig;

/// A model's text side.
pub struct ModelText {
    /// The folder (or the `tokenizer.json` file's folder).
    pub dir: PathBuf,
    /// Counts tokens with the model's tokenizer.
    pub counter: LengthCounter,
    /// The longest input the model takes, when its files say.
    pub context_len: Option<u32>,
    /// The chat template, when `tokenizer_config.json` has one.
    pub chat_template: Option<ChatTemplate>,
}

impl ModelText {
    /// Loads from a model folder, or from a `tokenizer.json` path (its folder is read for the rest).
    pub fn load(path: &Path) -> Result<ModelText> {
        let (dir, tokenizer) = if path.is_dir() {
            (path.to_path_buf(), path.join("tokenizer.json"))
        } else {
            (
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
                path.to_path_buf(),
            )
        };
        if !tokenizer.exists() {
            return Err(DataError::Model {
                path: path.to_path_buf(),
                reason: "it has no tokenizer.json; choose the folder that holds config.json, tokenizer.json and the weights".into(),
            });
        }
        let counter = LengthCounter::from_file(&tokenizer)?;
        let read_json = |name: &str| -> Option<serde_json::Value> {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            serde_json::from_str(&text).ok()
        };
        // A damaged tokenizer_config.json only costs the template and length here: the doctor
        // still counts tokens with tokenizer.json.
        let tok_config = read_json(crate::tokenizer_config::TOKENIZER_CONFIG_FILE)
            .map(|c| TokenizerConfig::parse(&c));
        let config = read_json("config.json");
        let from_tok = tok_config.as_ref().and_then(|c| c.model_max_length);
        let from_cfg = config
            .as_ref()
            .and_then(|c| {
                c.get("max_position_embeddings")
                    .or_else(|| c.get("n_positions"))
                    .or_else(|| c.get("n_ctx"))
            })
            .and_then(|v| v.as_f64());
        let context_len = from_tok.or(from_cfg).map(|x| x as u32);
        // A template that does not compile is the file's fault: the refusal names it (the fuzz
        // tier found it named neither the file nor the model).
        let chat_template = match &tok_config {
            Some(c) => crate::template::ChatTemplate::of(c).map_err(|e| DataError::Model {
                path: dir.join(crate::tokenizer_config::TOKENIZER_CONFIG_FILE),
                reason: format!(
                    "its chat_template does not compile ({}). Download the model again, or fix \
                     the template in that file",
                    match e {
                        DataError::Template(why) => why,
                        other => other.to_string(),
                    }
                ),
            })?,
            None => None,
        };
        Ok(ModelText {
            dir,
            counter,
            context_len,
            chat_template,
        })
    }
}
