//! One finding of the data doctor: what is wrong, why it matters for fine-tuning, and the one
//! flag that fixes it.

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Training is refused until it is fixed.
    Error,
    /// Training may go on; the user should know.
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Finding {
    /// A stable code (`duplicates`, `one_class`, ...).
    pub code: String,
    /// Whether it blocks training.
    pub severity: Severity,
    /// What was found, with counts and where.
    pub message: String,
    /// Why it matters for fine-tuning, in one plain sentence.
    pub why: String,
    /// The one flag (or action) that fixes it, when there is one.
    pub fix: Option<String>,
    /// How many rows it concerns.
    pub count: u64,
    /// Up to ten of those rows' line numbers, to look at.
    pub rows: Vec<u64>,
}

impl Finding {
    /// A finding that blocks training.
    pub fn error(code: &str, message: String, why: &str) -> Finding {
        Finding {
            code: code.into(),
            severity: Severity::Error,
            message,
            why: why.into(),
            fix: None,
            count: 0,
            rows: Vec::new(),
        }
    }

    /// A finding that does not block training.
    pub fn warning(code: &str, message: String, why: &str) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, message, why)
        }
    }

    /// Sets the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }

    /// Sets the rows concerned (the count, and up to ten example lines).
    pub fn rows(mut self, count: u64, lines: &[u64]) -> Finding {
        self.count = count;
        self.rows = lines.iter().copied().take(10).collect();
        self
    }
}
