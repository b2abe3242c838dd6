//! The engine's error type: every failure a checkpoint, a device or a tensor can cause.

/// Everything the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The device the user asked for is not available in this build or on this machine.
    #[error("the device `{requested}` is not available: {reason}")]
    DeviceUnavailable {
        /// What was asked for (`cuda`, `metal`, ...).
        requested: String,
        /// Why it cannot be used, in words the user can act on.
        reason: String,
    },
    /// A checkpoint lacks a tensor the model needs.
    #[error("{file} has no tensor `{tensor}`; the checkpoint does not match its config.json or is incomplete (download it again, or pick a model of a supported architecture)")]
    MissingTensor {
        /// The checkpoint file (or folder) searched.
        file: String,
        /// The tensor's name in the checkpoint.
        tensor: String,
    },
    /// A checkpoint tensor has a different shape from the one its config implies.
    #[error("tensor `{tensor}` in {file} has shape {found:?} but the model's config.json implies {expected:?}; the config does not match the weights")]
    TensorShape {
        /// The checkpoint file holding the tensor.
        file: String,
        /// The tensor's name in the checkpoint.
        tensor: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape found in the file.
        found: Vec<usize>,
    },
    /// A checkpoint, config or adapter file cannot be used.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The file or folder at fault.
        path: std::path::PathBuf,
        /// What is wrong and what to do, in words a user can act on.
        reason: String,
    },
    /// An argument or option is outside what the engine supports.
    #[error("{0}")]
    Invalid(String),
    /// Training cannot go on (a diverging loss, a resume that does not match its checkpoint, ...).
    #[error("{0}")]
    Training(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The engine's result alias.
pub type Result<T> = std::result::Result<T, EngineError>;
