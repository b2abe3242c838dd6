//! The hub access token, never printed: Tunesmith never stores a token in its database or logs,
//! and the `Debug` form of [`Token`] is redacted so it cannot leak through an error or a trace.
//! Where a token is found is `token_source`'s business; where it is saved, `keyring_token`'s.

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
