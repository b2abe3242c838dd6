//! The hub crate's errors: each says what failed, on which model or file, and what the user can do.
//! No message ever contains a token.

use std::path::PathBuf;

/// Everything searching, downloading, importing and estimating can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The repository is gated or private and no token (or a refused one) was sent.
    #[error(
        "`{repo}` is gated or private: the hub needs an access token. Accept the model's licence on its \
         hub page, create a read token at https://huggingface.co/settings/tokens, then set it in the \
         HF_TOKEN environment variable, or save it with `tunesmith models login` (or `huggingface-cli \
         login`), where Tunesmith finds it."
    )]
    TokenRequired {
        /// The repository id.
        repo: String,
    },
    /// The repository, revision or file does not exist on the hub.
    #[error(
        "{what} was not found on the hub ({url}); check the spelling of the model id and revision"
    )]
    NotFound {
        /// What was looked for, in words.
        what: String,
        /// The address asked.
        url: String,
    },
    /// The hub could not be reached, or answered in a way we cannot use.
    #[error("the hub at {endpoint} could not be reached: {reason}. Check the network, or work offline with cached models (HF_HUB_OFFLINE=1).")]
    Network {
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The hub has disabled the repository (its files cannot be downloaded).
    #[error("`{repo}` has been disabled on the hub and its files cannot be downloaded; pick another model")]
    Disabled {
        /// The repository id.
        repo: String,
    },
    /// The hub kept answering "too many requests" (429), or asked for a longer wait than
    /// Tunesmith sleeps through.
    #[error("the hub is limiting requests ({url}){}; wait and try again", match retry_after_s { Some(s) => format!(" and asks to wait {s} s"), None => String::new() })]
    RateLimited {
        /// The address asked.
        url: String,
        /// The wait the hub named, in seconds.
        retry_after_s: Option<u64>,
    },
    /// The hub answered with an unexpected HTTP status.
    #[error("the hub answered {status} for {url}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The address asked.
        url: String,
        /// The start of the answer's body.
        body: String,
    },
    /// The hub's answer was not what its API promises.
    #[error("the hub's answer for {url} could not be read: {reason}")]
    BadResponse {
        /// The address asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// Offline mode, and the model is not in the cache.
    #[error("`{repo}` is not in the model cache ({cache}) and Tunesmith is offline (HF_HUB_OFFLINE is set or the hub cannot be reached). Connect and run `tunesmith models pull {repo}`.")]
    NotCached {
        /// The repository id.
        repo: String,
        /// The cache folder searched.
        cache: PathBuf,
    },
    /// A downloaded file's checksum did not match the hub's, twice in a row.
    #[error("`{file}` of `{repo}` failed its checksum twice (expected {expected}, got {actual}); the download was deleted. Try again later.")]
    Checksum {
        /// The repository id.
        repo: String,
        /// The file in the repository.
        file: String,
        /// The hub's checksum.
        expected: String,
        /// What the downloaded bytes hash to.
        actual: String,
    },
    /// The download was cancelled by the user. Partial files are kept so a later pull resumes.
    #[error(
        "the download of `{repo}` was cancelled; run the pull again to resume where it stopped"
    )]
    Cancelled {
        /// The repository id.
        repo: String,
    },
    /// The repository has nothing Tunesmith can load.
    #[error("`{repo}` has no safetensors or GGUF weights (only {found}); Tunesmith never loads pickle `.bin` files. Pick another model.")]
    NoUsableWeights {
        /// The repository id.
        repo: String,
        /// The files it has, abridged.
        found: String,
    },
    /// A model id that is not `owner/name`.
    #[error("`{0}` is not a model id; use the hub's form `owner/name` (e.g. `sentence-transformers/all-MiniLM-L6-v2`)")]
    BadModelId(String),
    /// A local model folder or file that cannot be used.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The operating system's keyring cannot save, read or delete the token.
    #[error("the operating system's keyring is not available here ({reason}); set the HF_TOKEN environment variable to your hub token instead")]
    Keyring {
        /// What the keyring answered (never the token).
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl HubError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`HubError::Invalid`].
    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        HubError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A stable code the UI branches on.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::TokenRequired { .. } => "token_required",
            HubError::NotFound { .. } => "not_found",
            HubError::Network { .. } => "network",
            HubError::Http { .. } | HubError::BadResponse { .. } => "hub",
            HubError::Disabled { .. } => "disabled",
            HubError::RateLimited { .. } => "rate_limited",
            HubError::NotCached { .. } => "offline",
            HubError::Checksum { .. } => "checksum",
            HubError::Cancelled { .. } => "cancelled",
            HubError::NoUsableWeights { .. } => "no_weights",
            HubError::BadModelId(_) => "bad_model_id",
            HubError::Invalid { .. } => "invalid_model",
            HubError::Keyring { .. } => "keyring",
            HubError::Io { .. } => "io",
        }
    }
}

/// The hub crate's result alias.
pub type Result<T> = std::result::Result<T, HubError>;
