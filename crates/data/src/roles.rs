//! What each column is for: guessed from its name first, then from its content, and overridable.
//!
//! Classification needs text (one or more columns, joined) and a label. Generation needs a prompt
//! (with an optional input/context and system prompt) and a response, or a chat `messages` column,
//! or plain text lines. Columns with no role are ignored, and the report says so.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::role::role_by_name;
pub use crate::role::{is_known_name, Role};
use crate::source::{Format, Source};

/// What the model learns to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Put each text in one of a fixed set of classes.
    Classify,
    /// Produce text: answers to prompts, chat replies, or continuations of plain text.
    Generate,
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Task, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classify" | "classification" => Ok(Task::Classify),
            "generate" | "generation" => Ok(Task::Generate),
            other => Err(format!("unknown task `{other}`: use classify or generate")),
        }
    }
}

/// How a column's role was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// From the column's name.
    Name,
    /// From the column's values.
    Content,
    /// The user said so.
    User,
}

/// One column and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Why it has this role.
    pub guessed_from: Reason,
}

/// The user's corrections to the guess. Column names are matched exactly, then ignoring case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoleOverrides {
    /// The task; guessed from the roles when `None`.
    pub task: Option<Task>,
    /// The text column(s) (for generation: the prompt column).
    pub text_columns: Vec<String>,
    /// The label column.
    pub label_column: Option<String>,
    /// The response column (generation).
    pub response_column: Option<String>,
}

/// The columns with their roles, and the task they add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Schema {
    /// The task.
    pub task: Task,
    /// Every column, in file order, with its role.
    pub columns: Vec<Column>,
}

impl Schema {
    /// The indices of the columns with `role`, in file order.
    pub fn indices(&self, role: Role) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == role)
            .map(|(i, _)| i)
            .collect()
    }

    /// The index of the first column with `role`.
    pub fn index(&self, role: Role) -> Option<usize> {
        self.columns.iter().position(|c| c.role == role)
    }
}

/// Statistics of one column over the sample, for guessing from content.
struct Profile {
    filled: usize,
    distinct: usize,
    mean_chars: f64,
    all_unique_integers: bool,
    json_lists: usize,
}

fn profile(source: &Source, i: usize) -> Profile {
    let values: Vec<&str> = source
        .sample
        .iter()
        .filter_map(|r| r.fields.get(i))
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let distinct: std::collections::HashSet<&str> = values.iter().copied().collect();
    let chars: usize = values.iter().map(|v| v.chars().count()).sum();
    Profile {
        filled: values.len(),
        distinct: distinct.len(),
        mean_chars: if values.is_empty() {
            0.0
        } else {
            chars as f64 / values.len() as f64
        },
        all_unique_integers: values.len() > 1
            && distinct.len() == values.len()
            && values.iter().all(|v| v.parse::<i64>().is_ok()),
        json_lists: values
            .iter()
            .filter(|v| v.starts_with('[') && v.contains("\"content\""))
            .count(),
    }
}

/// Guesses the roles of `source`'s columns, then applies `overrides`.
pub fn guess(source: &Source, overrides: &RoleOverrides) -> Result<Schema> {
    let names = &source.columns;
    let mut columns: Vec<Column> = names
        .iter()
        .map(|n| match role_by_name(n) {
            Some(role) => Column {
                name: n.clone(),
                role,
                guessed_from: Reason::Name,
            },
            None => Column {
                name: n.clone(),
                role: Role::Ignore,
                guessed_from: Reason::Content,
            },
        })
        .collect();
    let profiles: Vec<Profile> = (0..names.len()).map(|i| profile(source, i)).collect();

    if source.format == Format::Lines {
        columns[0].role = Role::Text;
    }
    // A JSON list of messages is a conversation whatever the column is called.
    for (c, p) in columns.iter_mut().zip(&profiles) {
        if c.role == Role::Ignore && p.filled > 0 && p.json_lists * 2 > p.filled {
            c.role = Role::Messages;
        }
    }
    let has = |cols: &[Column], r: Role| cols.iter().any(|c| c.role == r);
    // Alpaca: `input` is context next to an instruction, the prompt itself when there is none.
    if !has(&columns, Role::Prompt) && has(&columns, Role::Response) {
        if let Some(c) = columns.iter_mut().find(|c| c.role == Role::Input) {
            c.role = Role::Prompt;
        }
    }
    // Question/answer or prompt/completion pairs without a `text` column are generation data; with
    // a label and a text, a `question` column is just more text.
    if has(&columns, Role::Label) && !has(&columns, Role::Response) {
        for c in columns.iter_mut().filter(|c| c.role == Role::Prompt) {
            c.role = Role::Text;
        }
    }
    // Content: an all-distinct integer column is an identifier.
    for (c, p) in columns.iter_mut().zip(&profiles) {
        if c.role == Role::Ignore && p.all_unique_integers && p.filled >= 20 {
            c.role = Role::Id;
        }
    }
    let generation = has(&columns, Role::Messages)
        || (has(&columns, Role::Prompt) && has(&columns, Role::Response));
    if !generation {
        // Content: the label is a short column with few distinct values; the text the longest.
        if !has(&columns, Role::Label) {
            let rows = profiles.iter().map(|p| p.filled).max().unwrap_or(0);
            let limit = (rows / 5).clamp(2, 100);
            let candidate = columns
                .iter()
                .zip(&profiles)
                .enumerate()
                .filter(|(_, (c, p))| {
                    c.role == Role::Ignore
                        && p.filled > 0
                        && p.distinct <= limit
                        && p.distinct >= 1
                        && p.mean_chars <= 40.0
                })
                .min_by(|a, b| {
                    (a.1 .1.distinct, a.1 .1.mean_chars as u64)
                        .cmp(&(b.1 .1.distinct, b.1 .1.mean_chars as u64))
                })
                .map(|(i, _)| i);
            if let Some(i) = candidate {
                columns[i].role = Role::Label;
            }
        }
        if !has(&columns, Role::Text) {
            let longest = columns
                .iter()
                .zip(&profiles)
                .enumerate()
                .filter(|(_, (c, p))| c.role == Role::Ignore && p.filled > 0)
                .max_by(|a, b| a.1 .1.mean_chars.total_cmp(&b.1 .1.mean_chars))
                .map(|(i, _)| i);
            if let Some(i) = longest {
                columns[i].role = Role::Text;
            }
        }
    }

    apply_overrides(source, &mut columns, overrides)?;

    let generation = has(&columns, Role::Messages)
        || (has(&columns, Role::Prompt) && has(&columns, Role::Response));
    let task = overrides.task.unwrap_or(if generation {
        Task::Generate
    } else if has(&columns, Role::Label) || !source.format.eq(&Format::Lines) {
        Task::Classify
    } else {
        Task::Generate
    });
    // Settle the roles on the task the user asked for.
    match task {
        Task::Classify => {
            for c in columns.iter_mut().filter(|c| c.role == Role::Prompt) {
                c.role = Role::Text;
            }
        }
        Task::Generate => {
            if !has(&columns, Role::Prompt) && has(&columns, Role::Response) {
                for c in columns.iter_mut().filter(|c| c.role == Role::Text) {
                    c.role = Role::Prompt;
                }
            }
        }
    }
    Ok(Schema { task, columns })
}

fn find(source: &Source, columns: &[Column], name: &str) -> Result<usize> {
    columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name.trim()))
        })
        .ok_or_else(|| DataError::NoSuchColumn {
            path: source.path.clone(),
            column: name.to_string(),
            available: columns
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn apply_overrides(source: &Source, columns: &mut [Column], o: &RoleOverrides) -> Result<()> {
    let generate = o.task == Some(Task::Generate) || o.response_column.is_some();
    if !o.text_columns.is_empty() {
        let role = if generate { Role::Prompt } else { Role::Text };
        let chosen: Vec<usize> = o
            .text_columns
            .iter()
            .map(|n| find(source, columns, n))
            .collect::<Result<_>>()?;
        for c in columns
            .iter_mut()
            .filter(|c| matches!(c.role, Role::Text | Role::Prompt))
        {
            c.role = Role::Ignore;
            c.guessed_from = Reason::User;
        }
        for i in chosen {
            columns[i].role = role;
            columns[i].guessed_from = Reason::User;
        }
    }
    if let Some(name) = &o.label_column {
        let i = find(source, columns, name)?;
        for c in columns.iter_mut().filter(|c| c.role == Role::Label) {
            c.role = Role::Ignore;
            c.guessed_from = Reason::User;
        }
        columns[i].role = Role::Label;
        columns[i].guessed_from = Reason::User;
    }
    if let Some(name) = &o.response_column {
        let i = find(source, columns, name)?;
        for c in columns.iter_mut().filter(|c| c.role == Role::Response) {
            c.role = Role::Ignore;
            c.guessed_from = Reason::User;
        }
        columns[i].role = Role::Response;
        columns[i].guessed_from = Reason::User;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_ignoring_case_and_punctuation() {
        assert_eq!(role_by_name(" Label "), Some(Role::Label));
        assert_eq!(role_by_name("Customer Feedback"), Some(Role::Text));
        assert_eq!(role_by_name("system-prompt"), Some(Role::System));
        assert_eq!(role_by_name("Unnamed: 0"), Some(Role::Id));
        assert_eq!(role_by_name("colour"), None);
    }
}
