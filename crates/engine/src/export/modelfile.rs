//! An Ollama `Modelfile` beside an exported GGUF, so `ollama create NAME -f Modelfile` imports it.
//!
//! Ollama needs the prompt format in its own Go-template syntax. The two chat formats the supported
//! models use are recognised in the Jinja chat template and written out (ChatML: SmolLM2, Qwen2;
//! Llama 3's header tokens); for any other the Modelfile says so, and Ollama falls back to the
//! template it detects itself.

use crate::export::decoder_weights::{BaseSource, DecoderWeights};
use crate::gguf::GgufFile;
use crate::tokenizer::gguf::END_OF_TURN;
use crate::tokenizer::{GgufTokenizer, TextTokenizer};
use crate::Result;

/// ChatML (`<|im_start|>role ... <|im_end|>`) in Ollama's template syntax.
const CHATML: &str = r#"{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"#;

/// Llama 3's header format in Ollama's template syntax.
const LLAMA3: &str = r#"{{- if .System }}<|start_header_id|>system<|end_header_id|>

{{ .System }}<|eot_id|>{{ end }}{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

"#;

/// The Modelfile for `gguf_file` (a name in the same folder), given the model's Jinja chat template
/// and the tokens that end a turn.
pub fn modelfile(
    gguf_file: &str,
    chat_template: Option<&str>,
    stops: &[String],
    about: &str,
) -> String {
    let mut out = format!(
        "# {about}\n# Import into Ollama with: ollama create MODEL-NAME -f Modelfile\nFROM ./{gguf_file}\n"
    );
    let template = chat_template.and_then(|t| {
        if t.contains("<|im_start|>") {
            Some(CHATML)
        } else if t.contains("<|start_header_id|>") {
            Some(LLAMA3)
        } else {
            None
        }
    });
    match template {
        Some(t) => out.push_str(&format!("TEMPLATE \"\"\"{t}\"\"\"\n")),
        None => out.push_str(
            "# The chat template is not ChatML or Llama 3's: Ollama uses the one it detects in the GGUF.\n",
        ),
    }
    for stop in stops {
        out.push_str(&format!(
            "PARAMETER stop \"{}\"\n",
            stop.replace('"', "\\\"")
        ));
    }
    out
}

/// The Modelfile for the model `weights` were read from, written next to its GGUF `gguf_file`:
/// the chat template and end-of-turn tokens come from the base's tokenizer.
pub fn for_model(weights: &DecoderWeights, gguf_file: &str, about: &str) -> Result<String> {
    let (template, tokenizer) = match &weights.source {
        BaseSource::Gguf(path) => {
            let file = GgufFile::open(path)?;
            let t = GgufTokenizer::from_gguf(&file)?;
            (t.chat_template.clone(), t.tokenizer)
        }
        BaseSource::Folder(dir) => {
            let tokenizer = TextTokenizer::from_dir(dir)?.inner().clone();
            // The Modelfile is a convenience beside the GGUF: an unreadable tokenizer_config.json
            // costs its template, not the export.
            let template = tunesmith_vocab::TokenizerConfig::read(dir)
                .ok()
                .flatten()
                .and_then(|tc| tc.chat_template)
                .or_else(|| std::fs::read_to_string(dir.join("chat_template.jinja")).ok());
            (template, tokenizer)
        }
    };
    let mut stops: Vec<String> = END_OF_TURN
        .iter()
        .filter(|t| tokenizer.token_to_id(t).is_some())
        .map(|t| t.to_string())
        .collect();
    for id in weights.config.eos_ids() {
        if let Some(t) = tokenizer.id_to_token(id) {
            if !stops.contains(&t) {
                stops.push(t);
            }
        }
    }
    Ok(modelfile(gguf_file, template.as_deref(), &stops, about))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chatml_model_gets_ollamas_chatml_template_and_its_stop_token() {
        let text = modelfile(
            "model.gguf",
            Some("{% for m in messages %}<|im_start|>{{ m.role }}..."),
            &["<|im_end|>".to_string()],
            "made by Tunesmith",
        );
        assert!(text.contains("FROM ./model.gguf\n"), "{text}");
        assert!(
            text.contains("TEMPLATE \"\"\"{{- if .System }}<|im_start|>system"),
            "{text}"
        );
        assert!(text.contains("PARAMETER stop \"<|im_end|>\"\n"), "{text}");
    }

    #[test]
    fn an_unknown_template_is_left_to_ollama_and_said_so() {
        let text = modelfile("m.gguf", Some("[INST] {{ x }}"), &[], "about");
        assert!(!text.contains("TEMPLATE"), "{text}");
        assert!(text.contains("Ollama uses the one it detects"), "{text}");
    }
}
