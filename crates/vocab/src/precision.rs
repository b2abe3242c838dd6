//! The number format a run computes in: `auto` (the default), `f32`, or `bf16` mixed precision.
//!
//! Mixed precision means the frozen weights and the activations are bfloat16 while every trainable
//! parameter, its gradient and the optimiser's moments stay f32 (the master copy), and softmax,
//! norms and the loss accumulate in f32. It halves the memory of a frozen base and doubles the
//! speed of a GPU's matrix units; on a CPU it is slower (no bf16 matrix kernel), so `auto` picks it
//! only on a GPU (the engine decides, knowing the device).

use serde::{Deserialize, Serialize};

/// The number format a run computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bf16 mixed precision on a GPU that has it, f32 elsewhere.
    #[default]
    Auto,
    /// Everything in 32-bit floats (the reference; what the CPU uses under `auto`).
    F32,
    /// bf16 mixed precision (f32 master weights, optimiser state and accumulations).
    Bf16,
}

impl Precision {
    /// Every choice, in the order the product presents them.
    pub const ALL: [Precision; 3] = [Precision::Auto, Precision::F32, Precision::Bf16];

    /// The name the CLI and the JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A precision name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPrecision(pub String);

impl std::fmt::Display for UnknownPrecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown precision `{}`: choose one of auto, f32, bf16",
            self.0
        )
    }
}

impl std::error::Error for UnknownPrecision {}

impl std::str::FromStr for Precision {
    type Err = UnknownPrecision;
    fn from_str(s: &str) -> Result<Self, UnknownPrecision> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Precision::Auto),
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            _ => Err(UnknownPrecision(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_precision_parses_back_from_its_own_name() {
        for p in Precision::ALL {
            assert_eq!(p.as_str().parse::<Precision>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert_eq!(Precision::default(), Precision::Auto);
    }

    #[test]
    fn an_unknown_precision_is_explained_with_the_choices() {
        let err = "fp8".parse::<Precision>().unwrap_err().to_string();
        assert!(
            err.contains("`fp8`") && err.contains("auto, f32, bf16"),
            "{err}"
        );
    }
}
