//! How a model is fine-tuned: the four methods the product offers, by the names the CLI, the JSON
//! and the UI use, and in the plain words messages use.

use serde::{Deserialize, Serialize};

/// How a model is fine-tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every weight trains.
    Full,
    /// The backbone is frozen; only a head trains on its (cached) features.
    Features,
    /// Low-rank adapters on a frozen base.
    Lora,
    /// Low-rank adapters on a frozen, quantised base.
    Qlora,
}

impl Method {
    /// Every method, in the order the product presents them.
    pub const ALL: [Method; 4] = [Method::Full, Method::Features, Method::Lora, Method::Qlora];

    /// The method's name as the CLI and the JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Features => "features",
            Method::Lora => "lora",
            Method::Qlora => "qlora",
        }
    }

    /// The method in plain words, as messages and READMEs name it ("full fine-tuning", "LoRA").
    pub fn in_words(self) -> &'static str {
        match self {
            Method::Full => "full fine-tuning",
            Method::Features => "feature extraction",
            Method::Lora => "LoRA",
            Method::Qlora => "QLoRA",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A method name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMethod(pub String);

impl std::fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown method `{}`: choose one of full, features, lora, qlora",
            self.0
        )
    }
}

impl std::error::Error for UnknownMethod {}

impl std::str::FromStr for Method {
    type Err = UnknownMethod;
    /// Accepts the names any screen, file or older release used: any case, `-` or `_`, and the
    /// long names of feature extraction.
    fn from_str(s: &str) -> Result<Self, UnknownMethod> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "full" => Ok(Method::Full),
            "features" | "feature-extraction" | "frozen" | "head" => Ok(Method::Features),
            "lora" => Ok(Method::Lora),
            "qlora" => Ok(Method::Qlora),
            _ => Err(UnknownMethod(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_back_from_its_own_name() {
        for m in Method::ALL {
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
    }

    #[test]
    fn the_older_names_of_feature_extraction_still_parse() {
        for name in ["feature_extraction", "Feature-Extraction", "frozen", "head"] {
            assert_eq!(name.parse::<Method>(), Ok(Method::Features), "{name}");
        }
        assert_eq!("QLoRA".parse::<Method>(), Ok(Method::Qlora));
    }

    #[test]
    fn an_unknown_method_is_explained_with_the_choices() {
        let err = "adapter".parse::<Method>().unwrap_err().to_string();
        assert!(err.contains("`adapter`") && err.contains("full, features, lora, qlora"), "{err}");
    }
}
