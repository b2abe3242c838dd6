//! The hub access token: found where the Python tools look for it, and never printed.
//!
//! Order: `HF_TOKEN`, then the operating system's keyring (saved by `tunesmith models login`), then
//! the file named by `HF_TOKEN_PATH`, then `$HF_HOME/token` (written by `huggingface-cli login`). Tunesmith never stores a token in its database or logs; the `Debug`
//! form of [`Token`] is redacted so it cannot leak through an error or a trace.

use std::path::PathBuf;

/// A hub access token. Its `Debug` form never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token string (surrounding whitespace removed); `None` if empty.
    pub fn new(s: &str) -> Option<Self> {
        let t = s.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }

    /// The secret, for the `Authorization` header only.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let t = Token::new(" hf_secret123\n").unwrap();
        assert_eq!(t.secret(), "hf_secret123");
        assert!(!format!("{t:?}").contains("secret123"));
        assert!(Token::new("  ").is_none());
    }
}
