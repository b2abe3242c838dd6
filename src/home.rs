//! The home folder: where runs, the run history and RAG indexes live.
//!
//! `--home DIR` wins, then `TUNESMITH_HOME`, then the operating system's app-data folder
//! (`~/.local/share/tunesmith` on Linux, `~/Library/Application Support/tunesmith` on macOS,
//! `%APPDATA%\tunesmith` on Windows).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The environment variable that picks the home folder.
pub const HOME_ENV: &str = "TUNESMITH_HOME";

/// The resolved home folder, created on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Resolves the home folder from an explicit choice, the environment, or the OS default, and
    /// creates it if it does not exist.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        let root = match explicit {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os(HOME_ENV) {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => default_root()?,
            },
        };
        Self::at(root)
    }

    /// Uses `root` as the home folder, creating it if needed.
    pub fn at(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root).map_err(|e| Error::Home {
            path: root.clone(),
            reason: e.to_string(),
        })?;
        Ok(Home { root })
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run history database.
    pub fn database(&self) -> PathBuf {
        self.root.join(tunesmith_store::DATABASE_FILE)
    }

    /// The folder holding one folder per run.
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }
}

fn default_root() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("tunesmith"))
        .ok_or_else(|| Error::Home {
            path: PathBuf::from("<app data>"),
            reason: "the operating system reports no app-data folder".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_home_is_created_and_used() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::resolve(Some(&dir.path().join("nested/home"))).unwrap();
        assert!(home.root().is_dir());
        assert_eq!(home.database().file_name().unwrap(), "tunesmith.sqlite3");
    }

    #[test]
    fn a_home_that_is_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = Home::at(file).unwrap_err();
        assert!(err.to_string().contains("--home"), "{err}");
    }
}
