//! Chat templates: turning conversations into the exact training text a decoder model expects.
//!
//! The template is the Jinja string a model ships in `tokenizer_config.json` (`chat_template`),
//! rendered with MiniJinja configured like Hugging Face's (`trim_blocks`, `lstrip_blocks`, loop
//! controls, Python string methods, `raise_exception`), so the text matches what transformers'
//! `apply_chat_template` produces.

use minijinja::{context, Environment, Error, ErrorKind, Value};

use crate::error::{DataError, Result};
use crate::example::Message;

const NAME: &str = "chat";

/// A compiled chat template with the special tokens it refers to.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

/// A conversation rendered for training: the whole text, and the prompt part (everything before
/// the last assistant reply) whose tokens are not learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingText {
    /// The prompt with the generation prompt appended (what the model sees before it answers).
    pub prompt: String,
    /// The whole conversation, the last reply included.
    pub full: String,
}

impl ChatTemplate {
    /// Compiles `template` with the given special tokens.
    pub fn new(template: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| DataError::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        // Python's json.dumps: no HTML escaping (MiniJinja's own tojson escapes `<` and `&`).
        env.add_filter("tojson", |v: Value| -> std::result::Result<Value, Error> {
            serde_json::to_string(&v)
                .map(Value::from_safe_string)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
        });
        env.add_template_owned(NAME, template.to_string())
            .map_err(|e| DataError::Template(describe(&e)))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
        })
    }

    /// Reads the template and special tokens from a parsed `tokenizer_config.json`; `None` when
    /// it has no template. A list of named templates uses the one named `default`.
    pub fn from_tokenizer_config(config: &serde_json::Value) -> Result<Option<ChatTemplate>> {
        ChatTemplate::of(&crate::tokenizer_config::TokenizerConfig::parse(config))
    }

    /// The chat template of a read `tokenizer_config.json`, compiled with its special tokens;
    /// `None` when it has none.
    pub fn of(config: &crate::tokenizer_config::TokenizerConfig) -> Result<Option<ChatTemplate>> {
        match &config.chat_template {
            Some(t) => ChatTemplate::new(t, &config.bos_token, &config.eos_token).map(Some),
            None => Ok(None),
        }
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's reply begins.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| DataError::Template(describe(&e)))?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| context! { role => m.role.clone(), content => m.content.clone() })
            .collect();
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.clone(),
                eos_token => self.eos_token.clone(),
            })
            .map_err(|e| DataError::Template(describe(&e)))
    }

    /// The training text of a conversation: the prompt (up to the last assistant turn, with the
    /// generation prompt) and the full text.
    pub fn training_text(&self, messages: &[Message]) -> Result<TrainingText> {
        let last = messages
            .iter()
            .rposition(|m| m.role == "assistant")
            .ok_or_else(|| {
                DataError::Template("the conversation has no assistant reply to learn".into())
            })?;
        let prompt = self.render(&messages[..last], true)?;
        let full = self.render(&messages[..=last], false)?;
        Ok(TrainingText { prompt, full })
    }
}

fn describe(e: &Error) -> String {
    match e.line() {
        Some(line) => format!("{e} (template line {line})"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-Instruct's template (ChatML), as shipped in its tokenizer_config.json.
    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn chat() -> Vec<Message> {
        vec![
            Message {
                role: "user".into(),
                content: "Hi".into(),
            },
            Message {
                role: "assistant".into(),
                content: "Hello!".into(),
            },
        ]
    }

    #[test]
    fn chatml_renders_like_transformers() {
        let t = ChatTemplate::new(CHATML, "", "<|im_end|>").unwrap();
        let text = t.training_text(&chat()).unwrap();
        let system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
        assert_eq!(
            text.prompt,
            format!("{system}<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        );
        assert_eq!(
            text.full,
            format!(
                "{system}<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            )
        );
        assert!(text.full.starts_with(&text.prompt));
    }

    #[test]
    fn python_string_methods_and_raise_exception_work() {
        let t = ChatTemplate::new(
            "{% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}{% for m in messages %}{{ m.content.strip() | upper }}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let m = vec![Message {
            role: "user".into(),
            content: "  hi ".into(),
        }];
        assert_eq!(t.render(&m, false).unwrap(), "HI");
        let s = vec![Message {
            role: "system".into(),
            content: "x".into(),
        }];
        assert!(t
            .render(&s, false)
            .unwrap_err()
            .to_string()
            .contains("no system"));
    }

    #[test]
    fn a_template_list_in_the_config_uses_the_default_one() {
        let cfg = serde_json::json!({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}D"}], "bos_token": {"content": "<s>"}});
        let t = ChatTemplate::from_tokenizer_config(&cfg).unwrap().unwrap();
        assert_eq!(t.render(&[], false).unwrap(), "<s>D");
    }
}
