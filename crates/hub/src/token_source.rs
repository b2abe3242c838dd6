//! Where the hub access token is found: where the Python tools look for it.
//!
//! Order: `HF_TOKEN`, then the operating system's keyring (saved by `tunesmith models login`), then
//! the file named by `HF_TOKEN_PATH`, then `$HF_HOME/token` (written by `huggingface-cli login`).

use std::path::PathBuf;

use crate::token::Token;

/// Where the token came from, for `tunesmith doctor`-style reports (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The `HF_TOKEN` environment variable.
    Env,
    /// The operating system's keyring (`tunesmith models login`).
    Keyring,
    /// A token file (`HF_TOKEN_PATH` or `$HF_HOME/token`).
    File(PathBuf),
}

/// Finds the token, if any, and where it came from.
pub fn find_token() -> Option<(Token, TokenSource)> {
    if let Some(t) = std::env::var("HF_TOKEN")
        .ok()
        .as_deref()
        .and_then(Token::new)
    {
        return Some((t, TokenSource::Env));
    }
    if let Some(t) = crate::keyring_token::saved_token() {
        return Some((t, TokenSource::Keyring));
    }
    let path = match std::env::var_os("HF_TOKEN_PATH") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => crate::cache::hf_home().join("token"),
    };
    let text = std::fs::read_to_string(&path).ok()?;
    Token::new(&text).map(|t| (t, TokenSource::File(path)))
}
