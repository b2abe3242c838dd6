//! Curated suggestions for first-time users (a small encoder for classification, a small instruct
//! decoder for generation), from `assets/suggested-models.json`, compiled in so they work offline.

use serde::{Deserialize, Serialize};

use crate::support::support_of;

/// One suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Suggestion {
    /// The hub id.
    pub id: String,
    /// The task it suits.
    pub task: String,
    /// A short title.
    pub title: String,
    /// Why, in plain words.
    pub why: String,
    /// Its config architecture.
    pub architecture: String,
    /// Parameters.
    pub parameters: u64,
    /// Licence.
    pub license: String,
}

const SUGGESTIONS_JSON: &str = include_str!("../../../assets/suggested-models.json");

/// The suggestions, for `task` if given (supported architectures only).
pub fn suggestions(task: Option<&str>) -> Vec<Suggestion> {
    // The file is compiled in and checked by a test, so a parse failure cannot reach a user; an empty
    // list is still the safe answer.
    let all: Vec<Suggestion> = serde_json::from_str(SUGGESTIONS_JSON).unwrap_or_default();
    all.into_iter()
        .filter(|s| task.is_none_or(|t| s.task == t))
        .filter(|s| support_of(std::slice::from_ref(&s.architecture), None).supported)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggestions_parse_and_are_all_supported() {
        let all: Vec<Suggestion> = serde_json::from_str(SUGGESTIONS_JSON).unwrap();
        assert_eq!(suggestions(None).len(), all.len());
        assert!(!suggestions(Some("text-classification")).is_empty());
        assert!(!suggestions(Some("text-generation")).is_empty());
    }
}
