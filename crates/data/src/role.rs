//! A column's role, and the column names each role is known by (`label`, `sentence`, `prompt`,
//! ...). Kept apart from the guessing in `roles` so that reading a file (header detection in
//! `sniff`) can ask "is this a column name?" without depending on the guesser, which reads files.

use serde::{Deserialize, Serialize};

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Text to classify (several text columns are joined with a line break).
    Text,
    /// The class of a row.
    Label,
    /// The instruction or question of a generation example.
    Prompt,
    /// Extra input or context shown with the prompt (alpaca's `input`).
    Input,
    /// A system prompt.
    System,
    /// The answer the model should learn to give.
    Response,
    /// A chat conversation: a JSON list of `{role, content}` messages.
    Messages,
    /// A row identifier: never trained on.
    Id,
    /// Not used.
    Ignore,
}

// The names each role is known by, normalised (lower case, `_` for any run of other characters).
const LABEL: &[&str] = &[
    "label",
    "labels",
    "class",
    "category",
    "sentiment",
    "target",
    "intent",
    "tag",
    "topic",
    "y",
    "gold",
    "gold_label",
    "classification",
    "emotion",
    "stance",
    "polarity",
    "outcome",
];
const TEXT: &[&str] = &[
    "text",
    "sentence",
    "sentences",
    "content",
    "review",
    "comment",
    "comments",
    "body",
    "message",
    "tweet",
    "document",
    "utterance",
    "description",
    "feedback",
    "ticket",
    "post",
    "phrase",
    "passage",
    "excerpt",
    "sentence1",
    "text_a",
    "review_text",
    "customer_feedback",
];
const PROMPT: &[&str] = &[
    "prompt",
    "instruction",
    "question",
    "query",
    "user",
    "human",
    "request",
    "problem",
];
const INPUT: &[&str] = &["input", "context", "background", "source"];
const RESPONSE: &[&str] = &[
    "response",
    "output",
    "answer",
    "completion",
    "reply",
    "assistant",
    "gpt",
    "solution",
    "chosen",
];
const SYSTEM: &[&str] = &["system", "system_prompt"];
const MESSAGES: &[&str] = &["messages", "conversation", "conversations", "chat"];
const ID: &[&str] = &[
    "id",
    "idx",
    "index",
    "row",
    "row_id",
    "uuid",
    "guid",
    "unnamed_0",
    "key",
];

fn normalise_name(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        let c = if c.is_alphanumeric() { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_matches('_').to_string()
}

pub(crate) fn role_by_name(name: &str) -> Option<Role> {
    let n = normalise_name(name);
    let n = n.as_str();
    [
        (MESSAGES, Role::Messages),
        (LABEL, Role::Label),
        (TEXT, Role::Text),
        (PROMPT, Role::Prompt),
        (INPUT, Role::Input),
        (RESPONSE, Role::Response),
        (SYSTEM, Role::System),
        (ID, Role::Id),
    ]
    .iter()
    .find(|(names, _)| names.contains(&n))
    .map(|(_, r)| *r)
}

/// Whether `name` is a column name Tunesmith recognises (used by header detection).
pub fn is_known_name(name: &str) -> bool {
    role_by_name(name).is_some()
}
