//! A model folder's `tokenizer_config.json` as the data crate reads it: the shared reading
//! ([`tunesmith_vocab::TokenizerConfig`]) with its errors as the data crate's.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

pub use tunesmith_vocab::{TokenizerConfig, TOKENIZER_CONFIG_FILE};

/// Reads `dir/tokenizer_config.json`: `None` when the folder has none; an error naming the
/// model folder and the file when it is there but not JSON.
pub fn read(dir: &Path) -> Result<Option<TokenizerConfig>> {
    TokenizerConfig::read(dir).map_err(|e| DataError::Model {
        path: e.path.parent().map(PathBuf::from).unwrap_or_default(),
        reason: format!("its {TOKENIZER_CONFIG_FILE} {}", e.reason),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_the_file_has_none_and_a_damaged_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(TOKENIZER_CONFIG_FILE), "{ not json").unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(TOKENIZER_CONFIG_FILE) && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
