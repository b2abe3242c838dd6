//! One training example, built from a row and the schema: what the trainer consumes.
//!
//! Classification rows become a text and a label; generation rows become a conversation (system,
//! user, assistant messages) so one chat template serves prompt/response columns, alpaca files and
//! chat JSONL alike; plain text lines stay plain text.

use serde::{Deserialize, Serialize};

use crate::roles::{Role, Schema, Task};
use crate::source::Record;

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// What was said.
    pub content: String,
}

/// What an example holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Content {
    /// A text and its class.
    Labelled {
        /// The text (several text columns joined by a line break).
        text: String,
        /// The class, as written in the file (or merged, when label merging was asked for).
        label: String,
    },
    /// A conversation whose assistant turns are learned.
    Chat {
        /// The messages in order.
        messages: Vec<Message>,
    },
    /// Plain text to continue (one line of a `.txt` file).
    Text {
        /// The text.
        text: String,
    },
}

/// One example and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Example {
    /// The 1-based line of the file the row starts on.
    pub line: u64,
    /// What it holds.
    pub content: Content,
}

/// Why a row yields no example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The text (or prompt) is empty or only whitespace.
    Text,
    /// The label is empty or only whitespace.
    Label,
    /// The response is empty or only whitespace.
    Response,
    /// The `messages` value is not a list of `{role, content}` objects with an assistant turn.
    Messages,
}

impl Example {
    /// Builds the example of `record` under `schema`, or says what is missing.
    pub fn from_record(record: &Record, schema: &Schema) -> Result<Example, Missing> {
        let cell = |i: usize| record.fields.get(i).map(|s| s.as_str()).unwrap_or("");
        let joined = |role: Role| -> String {
            let parts: Vec<&str> = schema
                .indices(role)
                .into_iter()
                .map(cell)
                .filter(|s| !s.trim().is_empty())
                .collect();
            parts.join("\n")
        };
        let content = match schema.task {
            Task::Classify => {
                let text = joined(Role::Text);
                if text.trim().is_empty() {
                    return Err(Missing::Text);
                }
                let label = schema
                    .index(Role::Label)
                    .map(cell)
                    .unwrap_or("")
                    .to_string();
                if label.trim().is_empty() {
                    return Err(Missing::Label);
                }
                Content::Labelled { text, label }
            }
            Task::Generate => {
                if let Some(i) = schema.index(Role::Messages) {
                    Content::Chat {
                        messages: parse_messages(cell(i)).ok_or(Missing::Messages)?,
                    }
                } else if schema.index(Role::Response).is_none() {
                    let text = {
                        let p = joined(Role::Prompt);
                        if p.trim().is_empty() {
                            joined(Role::Text)
                        } else {
                            p
                        }
                    };
                    if text.trim().is_empty() {
                        return Err(Missing::Text);
                    }
                    Content::Text { text }
                } else {
                    let prompt = joined(Role::Prompt);
                    if prompt.trim().is_empty() {
                        return Err(Missing::Text);
                    }
                    let response = joined(Role::Response);
                    if response.trim().is_empty() {
                        return Err(Missing::Response);
                    }
                    let input = joined(Role::Input);
                    let system = joined(Role::System);
                    let user = if input.trim().is_empty() {
                        prompt
                    } else {
                        format!("{prompt}\n\n{input}")
                    };
                    let mut messages = Vec::with_capacity(3);
                    if !system.trim().is_empty() {
                        messages.push(Message {
                            role: "system".into(),
                            content: system,
                        });
                    }
                    messages.push(Message {
                        role: "user".into(),
                        content: user,
                    });
                    messages.push(Message {
                        role: "assistant".into(),
                        content: response,
                    });
                    Content::Chat { messages }
                }
            }
        };
        Ok(Example {
            line: record.line,
            content,
        })
    }

    /// The label, for classification examples.
    pub fn label(&self) -> Option<&str> {
        match &self.content {
            Content::Labelled { label, .. } => Some(label),
            _ => None,
        }
    }

    /// The text that identifies the example for duplicate detection: the text to classify, or
    /// the conversation's non-assistant turns (the same question twice is a leak, whatever the answers).
    pub fn key_text(&self) -> String {
        match &self.content {
            Content::Labelled { text, .. } | Content::Text { text } => text.clone(),
            Content::Chat { messages } => messages
                .iter()
                .filter(|m| m.role != "assistant")
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Every piece of text in the example, joined: what token lengths and PII hints look at.
    pub fn full_text(&self) -> String {
        match &self.content {
            Content::Labelled { text, .. } | Content::Text { text } => text.clone(),
            Content::Chat { messages } => messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The whole example's content (text and label, or every turn), for exact-duplicate detection.
    pub fn exact_text(&self) -> String {
        match &self.content {
            Content::Labelled { text, label } => format!("{text}\u{1}{label}"),
            Content::Text { text } => text.clone(),
            Content::Chat { messages } => messages
                .iter()
                .map(|m| format!("{}\u{2}{}", m.role, m.content))
                .collect::<Vec<_>>()
                .join("\u{1}"),
        }
    }
}

/// Reads a chat `messages` value: a JSON list of `{role, content}` with at least one assistant turn.
/// Accepts ShareGPT's `{from, value}` with `human`/`gpt` too.
pub fn parse_messages(json: &str) -> Option<Vec<Message>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let list = value.as_array()?;
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        let role = m.get("role").or_else(|| m.get("from"))?.as_str()?;
        let role = match role {
            "human" => "user",
            "gpt" | "model" | "bot" => "assistant",
            r => r,
        };
        let content = match m.get("content").or_else(|| m.get("value"))? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        out.push(Message {
            role: role.to_string(),
            content,
        });
    }
    out.iter()
        .any(|m| m.role == "assistant" && !m.content.trim().is_empty())
        .then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharegpt_turns_are_read_as_user_and_assistant() {
        let m = parse_messages(r#"[{"from":"human","value":"hi"},{"from":"gpt","value":"hello"}]"#)
            .unwrap();
        assert_eq!(m[0].role, "user");
        assert_eq!(
            m[1],
            Message {
                role: "assistant".into(),
                content: "hello".into()
            }
        );
    }

    #[test]
    fn a_conversation_without_an_assistant_turn_is_not_an_example() {
        assert!(parse_messages(r#"[{"role":"user","content":"hi"}]"#).is_none());
        assert!(parse_messages("not json").is_none());
    }
}
