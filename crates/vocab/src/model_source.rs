//! Where a model came from: pulled from the hub, imported from a folder, or imported from a
//! `.gguf` file. The hub client describes models with it, the run history stores it, the app
//! shows it.

use serde::{Deserialize, Serialize};

/// Where a model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Downloaded from the Hugging Face hub into the HF cache.
    Hub,
    /// Imported from a local folder (config.json + safetensors + tokenizer).
    Local,
    /// Imported from a `.gguf` file.
    Gguf,
}

impl ModelSource {
    /// The word stored in the run history and printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Hub => "hub",
            ModelSource::Local => "local",
            ModelSource::Gguf => "gguf",
        }
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModelSource(pub String);

impl std::fmt::Display for UnknownModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown model source `{}`: one of hub, local, gguf",
            self.0
        )
    }
}

impl std::error::Error for UnknownModelSource {}

impl std::str::FromStr for ModelSource {
    type Err = UnknownModelSource;
    fn from_str(s: &str) -> Result<Self, UnknownModelSource> {
        match s {
            "hub" => Ok(ModelSource::Hub),
            "local" => Ok(ModelSource::Local),
            "gguf" => Ok(ModelSource::Gguf),
            _ => Err(UnknownModelSource(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_reads_back_from_its_stored_word_and_its_json() {
        for s in [ModelSource::Hub, ModelSource::Local, ModelSource::Gguf] {
            assert_eq!(s.as_str().parse::<ModelSource>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("folder".parse::<ModelSource>().is_err());
    }
}
