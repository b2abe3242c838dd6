//! A sentence-transformers model folder's recipe for turning token vectors into one sentence vector:
//! `modules.json` lists the stages (transformer, pooling, normalise), `1_Pooling/config.json` (or the
//! folder `modules.json` names) says which pooling, `sentence_bert_config.json` the longest input.
//! Also the pooling itself, on plain numbers, so any encoder's hidden states can be pooled the same way.

use std::path::Path;

use serde::Deserialize;

use crate::error::{RagError, Result};

/// How token vectors become a sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The average of the (unmasked) token vectors.
    Mean,
    /// The first token's vector (`[CLS]`).
    Cls,
    /// The element-wise maximum over the unmasked tokens.
    Max,
    /// The sum divided by the square root of the length.
    MeanSqrtLen,
    /// The last unmasked token's vector.
    LastToken,
}

/// The recipe read from a model folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceConfig {
    /// The pooling.
    pub pooling: Pooling,
    /// Whether the sentence vector is scaled to unit length.
    pub normalize: bool,
    /// The longest input in tokens, if the folder says.
    pub max_seq_length: Option<usize>,
}

impl Default for SentenceConfig {
    /// Mean pooling with normalisation: what sentence-transformers does for a plain encoder.
    fn default() -> Self {
        SentenceConfig {
            pooling: Pooling::Mean,
            normalize: true,
            max_seq_length: None,
        }
    }
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: String,
}

#[derive(Deserialize, Default)]
struct PoolingFile {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Deserialize)]
struct BertConfigFile {
    max_seq_length: Option<usize>,
}

impl SentenceConfig {
    /// Reads the recipe from `dir`. A folder without `modules.json` (a plain encoder) gets the
    /// default: mean pooling and normalisation.
    pub fn read(dir: &Path) -> Result<SentenceConfig> {
        let mut config = SentenceConfig::default();
        if let Some(st) = read_json::<BertConfigFile>(&dir.join("sentence_bert_config.json"))? {
            config.max_seq_length = st.max_seq_length;
        }
        let Some(modules) = read_json::<Vec<Module>>(&dir.join("modules.json"))? else {
            return Ok(config);
        };
        config.normalize = modules.iter().any(|m| m.kind.ends_with("Normalize"));
        if let Some(p) = modules.iter().find(|m| m.kind.ends_with("Pooling")) {
            let file = dir.join(&p.path).join("config.json");
            let pf = read_json::<PoolingFile>(&file)?.unwrap_or_default();
            config.pooling = if pf.pooling_mode_cls_token {
                Pooling::Cls
            } else if pf.pooling_mode_max_tokens {
                Pooling::Max
            } else if pf.pooling_mode_mean_sqrt_len_tokens {
                Pooling::MeanSqrtLen
            } else if pf.pooling_mode_lasttoken {
                Pooling::LastToken
            } else if pf.pooling_mode_mean_tokens {
                Pooling::Mean
            } else {
                return Err(RagError::Settings(format!(
                    "{} asks for no pooling mode Tunesmith knows (mean, cls, max, mean_sqrt_len, lasttoken)",
                    file.display()
                )));
            };
        }
        Ok(config)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RagError::Input {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| RagError::Input {
            path: path.to_path_buf(),
            reason: format!("it is not the JSON a sentence-transformers model has ({e})"),
        })
}

/// Pools one sequence's token vectors (`hidden`: `mask.len()` rows of `dim` numbers, row-major) into
/// a sentence vector, counting only tokens whose mask is non-zero, then normalises if asked.
pub fn pool(hidden: &[f32], mask: &[u32], dim: usize, config: &SentenceConfig) -> Vec<f32> {
    let rows = || {
        hidden
            .chunks_exact(dim)
            .zip(mask)
            .filter(|(_, &m)| m != 0)
            .map(|(r, _)| r)
    };
    let n = rows().count().max(1) as f32;
    let mut v = vec![0.0f32; dim];
    match config.pooling {
        Pooling::Cls => v.copy_from_slice(&hidden[..dim]),
        Pooling::LastToken => {
            if let Some(r) = rows().next_back() {
                v.copy_from_slice(r);
            }
        }
        Pooling::Max => {
            v.fill(f32::NEG_INFINITY);
            for r in rows() {
                v.iter_mut().zip(r).for_each(|(a, &b)| *a = a.max(b));
            }
            if v.iter().any(|x| x.is_infinite()) {
                v.fill(0.0);
            }
        }
        Pooling::Mean | Pooling::MeanSqrtLen => {
            for r in rows() {
                v.iter_mut().zip(r).for_each(|(a, &b)| *a += b);
            }
            let d = if config.pooling == Pooling::Mean {
                n
            } else {
                n.sqrt()
            };
            v.iter_mut().for_each(|a| *a /= d);
        }
    }
    if config.normalize {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|a| *a /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minilm_recipe_is_mean_pooling_normalised() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("modules.json"),
            r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
        std::fs::write(
            dir.path().join("1_Pooling/config.json"),
            r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":false,"pooling_mode_mean_tokens":true}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sentence_bert_config.json"),
            r#"{"max_seq_length":256}"#,
        )
        .unwrap();
        let c = SentenceConfig::read(dir.path()).unwrap();
        assert_eq!(
            c,
            SentenceConfig {
                pooling: Pooling::Mean,
                normalize: true,
                max_seq_length: Some(256)
            }
        );
    }

    #[test]
    fn cls_pooling_without_normalize_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("modules.json"),
            r#"[{"path":"p","type":"x.Pooling"}]"#,
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("p")).unwrap();
        std::fs::write(
            dir.path().join("p/config.json"),
            r#"{"pooling_mode_cls_token":true}"#,
        )
        .unwrap();
        let c = SentenceConfig::read(dir.path()).unwrap();
        assert_eq!((c.pooling, c.normalize), (Pooling::Cls, false));
    }

    #[test]
    fn a_plain_folder_gets_mean_pooling_and_broken_json_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            SentenceConfig::read(dir.path()).unwrap(),
            SentenceConfig::default()
        );
        std::fs::write(dir.path().join("modules.json"), "{").unwrap();
        assert!(SentenceConfig::read(dir.path())
            .unwrap_err()
            .to_string()
            .contains("modules.json"));
    }

    #[test]
    fn pooling_ignores_masked_tokens() {
        let hidden = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0];
        let mask = [1, 1, 0];
        let mean = SentenceConfig {
            pooling: Pooling::Mean,
            normalize: false,
            max_seq_length: None,
        };
        assert_eq!(pool(&hidden, &mask, 2, &mean), vec![2.0, 3.0]);
        let max = SentenceConfig {
            pooling: Pooling::Max,
            ..mean.clone()
        };
        assert_eq!(pool(&hidden, &mask, 2, &max), vec![3.0, 4.0]);
        let last = SentenceConfig {
            pooling: Pooling::LastToken,
            ..mean.clone()
        };
        assert_eq!(pool(&hidden, &mask, 2, &last), vec![3.0, 4.0]);
        let n = pool(&hidden, &mask, 2, &SentenceConfig::default());
        assert!((n[0] * n[0] + n[1] * n[1] - 1.0).abs() < 1e-6);
    }
}
