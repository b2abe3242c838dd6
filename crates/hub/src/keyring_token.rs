//! The hub token saved in the operating system's keyring (Secret Service on Linux, the Keychain on
//! macOS, the Credential Manager on Windows) by `tunesmith models login`, so it is never written in
//! plain text to Tunesmith's database, logs or settings.
//!
//! It promises: a keyring that is missing or locked (a headless Linux machine has no Secret
//! Service) is a [`HubError::Keyring`] that says to set `HF_TOKEN` instead, never a panic; reading
//! treats "nothing saved" as `None`; no message contains the token. The functions take the
//! [`Entry`] so tests can run them on the keyring crate's mock store.

use keyring::Entry;

use crate::token::Token;
use crate::{HubError, Result};

/// The keyring service name Tunesmith's entry is filed under.
pub const SERVICE: &str = "tunesmith";
/// The keyring user name of the hub token's entry.
pub const USER: &str = "huggingface-hub-token";

fn unavailable(e: keyring::Error) -> HubError {
    let reason = match e {
        keyring::Error::PlatformFailure(inner) => format!("the platform failed: {inner}"),
        keyring::Error::NoStorageAccess(inner) => format!("no access to the secret store: {inner}"),
        keyring::Error::NoEntry => "no token is saved".to_string(),
        keyring::Error::BadEncoding(_) => "the saved token is not valid text".to_string(),
        keyring::Error::TooLong(what, max) => format!("the {what} is longer than {max} characters"),
        keyring::Error::Invalid(what, why) => format!("{what} is invalid: {why}"),
        keyring::Error::Ambiguous(_) => {
            "several tokens are saved under Tunesmith's name".to_string()
        }
        other => other.to_string(),
    };
    HubError::Keyring { reason }
}

/// Tunesmith's hub-token entry in the default keyring.
pub fn entry() -> Result<Entry> {
    Entry::new(SERVICE, USER).map_err(unavailable)
}

/// Saves `token` in `entry` (replacing any earlier one).
pub fn save(entry: &Entry, token: &Token) -> Result<()> {
    entry.set_password(token.secret()).map_err(unavailable)
}

/// The token saved in `entry`, or `None` when nothing is saved.
pub fn load(entry: &Entry) -> Result<Option<Token>> {
    match entry.get_password() {
        Ok(secret) => Ok(Token::new(&secret)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// Deletes the token saved in `entry`; `false` when there was none.
pub fn delete(entry: &Entry) -> Result<bool> {
    match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// The token saved by `tunesmith models login`, if the keyring is available and holds one. A
/// keyring that cannot be reached is the same as no saved token here: pulls then go on without
/// one (or with `HF_TOKEN`/the token file) and a gated repository says how to give one.
pub fn saved_token() -> Option<Token> {
    entry().and_then(|e| load(&e)).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_entry() -> Entry {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        Entry::new(SERVICE, USER).unwrap()
    }

    #[test]
    fn a_saved_token_is_read_back_and_deleted() {
        let e = mock_entry();
        assert_eq!(load(&e).unwrap(), None);
        save(&e, &Token::new("hf_saved_in_keyring").unwrap()).unwrap();
        assert_eq!(load(&e).unwrap().unwrap().secret(), "hf_saved_in_keyring");
        assert!(delete(&e).unwrap());
        assert_eq!(load(&e).unwrap(), None);
        assert!(
            !delete(&e).unwrap(),
            "deleting twice says nothing was saved"
        );
    }

    #[test]
    fn a_keyring_that_fails_says_to_set_hf_token_and_never_shows_the_token() {
        let e = mock_entry();
        let mock: &keyring::mock::MockCredential = e.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::NoStorageAccess(
            "org.freedesktop.DBus.Error.ServiceUnknown".into(),
        ));
        let err = save(&e, &Token::new("hf_secret_value").unwrap()).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.code(), "keyring");
        assert!(
            msg.contains("HF_TOKEN") && msg.contains("ServiceUnknown"),
            "{msg}"
        );
        assert!(!msg.contains("hf_secret_value"));
    }
}
