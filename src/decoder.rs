//! A generation run's decoder: a Llama-family model (a folder or a `.gguf` file) loaded as the plan
//! trains it, with what turns rows into token ids (the model's tokenizer and chat template, the
//! run's maximum length) and what answers a prompt greedily as training saw it. Training and
//! evaluation load it here alike.
//!
//! Each row becomes a conversation rendered with the model's own chat template
//! (`tokenizer_config.json`'s, or the GGUF's `tokenizer.chat_template`), so the model is trained on
//! exactly the text it will see when chatting; only the response tokens are learned.

use candle_core::Device;
use tokenizers::Tokenizer;
use tunesmith_data::{ChatTemplate, Content, Dataset};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::task::SftExample;
use tunesmith_engine::tokenizer::TextTokenizer;

use crate::run::TrainPlan;
use crate::{Error, Result};

/// A template for models that ship none: the prompt, a line break, the answer, the end token.
pub(crate) const PLAIN_TEMPLATE: &str = "{% for m in messages %}{% if m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% else %}{{ m['content'] + '\n' }}{% endif %}{% endfor %}";

/// A decoder loaded as a generation run trains it, with what turns its rows into token ids: the
/// model's tokenizer and chat template and the run's maximum length.
pub(crate) struct Decoder {
    /// The model.
    pub model: LlamaModel,
    /// The token that pads a batch.
    pub pad_id: u32,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    max_len: usize,
}

impl Decoder {
    /// Loads the plan's model (a folder or a `.gguf` file) with `backbone` on `device`, 4-bit for
    /// QLoRA; fresh LoRA factors start from the plan's seed.
    pub(crate) fn load(plan: &TrainPlan, backbone: Backbone, device: &Device) -> Result<Decoder> {
        let loaded = LlamaModel::load(
            plan.model(),
            &LlamaLoadOptions {
                backbone,
                quantize: plan.quantize(),
                dtype: candle_core::DType::F32,
                device: device.clone(),
                seed: plan.seed(),
            },
        )?;
        let model = loaded.model;

        // The tokenizer and chat template: the GGUF's own, or the folder's files.
        let (tokenizer, template_text, bos, eos) = match loaded.gguf_tokenizer {
            Some(g) => {
                let name = |id: Option<u32>| {
                    id.and_then(|i| g.tokenizer.id_to_token(i))
                        .unwrap_or_default()
                };
                let (bos, eos) = (name(g.special.bos), name(g.special.eos));
                (g.tokenizer, g.chat_template, bos, eos)
            }
            None => {
                let tok = TextTokenizer::from_dir(plan.model())?;
                let cfg_path = plan.model().join("tokenizer_config.json");
                let cfg: serde_json::Value = match std::fs::read_to_string(&cfg_path) {
                    Ok(text) => serde_json::from_str(&text).map_err(|e| {
                        Error::invalid(format!(
                            "{} is not valid JSON ({e}); restore it from the model's original files",
                            cfg_path.display()
                        ))
                    })?,
                    Err(_) => serde_json::Value::Null,
                };
                let text = |key: &str| match cfg.get(key) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v
                        .get("content")
                        .and_then(|c| c.as_str())
                        .unwrap_or("")
                        .to_string(),
                    None => String::new(),
                };
                let template = match cfg.get("chat_template") {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    _ => None,
                };
                (
                    tok.inner().clone(),
                    template,
                    text("bos_token"),
                    text("eos_token"),
                )
            }
        };
        let template = ChatTemplate::new(
            template_text.as_deref().unwrap_or(PLAIN_TEMPLATE),
            &bos,
            &eos,
        )?;
        let pad_id = tokenizer
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| tokenizer.token_to_id(&eos))
            .unwrap_or(0);
        let max_len = plan.max_len(model.config().max_position_embeddings);
        Ok(Decoder {
            model,
            pad_id,
            tokenizer,
            template,
            max_len,
        })
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::invalid(format!("cannot tokenise a row: {e}")))?
            .get_ids()
            .to_vec())
    }

    /// Greedy answers, at most `max_new` tokens each, to the prompts of `dataset`'s rows `rows`,
    /// through the chat template as training saw them; stops on EOS and end-of-turn tokens.
    pub(crate) fn answers(
        &self,
        dataset: &Dataset,
        rows: &[usize],
        max_new: usize,
    ) -> Result<Vec<String>> {
        greedy_answers(
            &self.model,
            &self.tokenizer,
            &self.template,
            dataset,
            rows,
            max_new,
        )
    }

    /// The model and its pad token apart from what answers prompts, so a model that moves into a
    /// training task can still be asked questions afterwards (fact recall after training).
    pub(crate) fn into_parts(self) -> (LlamaModel, u32, Answerer) {
        (
            self.model,
            self.pad_id,
            Answerer {
                tokenizer: self.tokenizer,
                template: self.template,
            },
        )
    }

    /// Every row of `dataset` as a training conversation in the model's chat template, only the
    /// response tokens counted.
    pub(crate) fn examples(&self, dataset: &Dataset) -> Result<Vec<SftExample>> {
        dataset
            .examples
            .iter()
            .map(|e| {
                let Content::Chat { messages } = &e.content else {
                    return Err(Error::invalid(format!(
                        "{} line {}: not a prompt with a response; name the columns with --prompt-column and --response-column",
                        dataset.report.file, e.line
                    )));
                };
                let t = self.template.training_text(messages)?;
                SftExample::new(&self.encode(&t.prompt)?, &self.encode(&t.full)?, self.max_len)
                    .map_err(|err| Error::invalid(format!("line {}: {err}", e.line)))
            })
            .collect()
    }
}

/// A decoder's tokenizer and chat template without its model: answers prompts with any model of
/// the same vocabulary (the run's model after training).
pub(crate) struct Answerer {
    tokenizer: Tokenizer,
    template: ChatTemplate,
}

impl Answerer {
    /// As [`Decoder::answers`], with `model`.
    pub(crate) fn answers(
        &self,
        model: &LlamaModel,
        dataset: &Dataset,
        rows: &[usize],
        max_new: usize,
    ) -> Result<Vec<String>> {
        greedy_answers(
            model,
            &self.tokenizer,
            &self.template,
            dataset,
            rows,
            max_new,
        )
    }
}

/// Greedy answers of `model`, at most `max_new` tokens each, to the prompts of `dataset`'s rows
/// `rows`, through `template` as training saw them; stops on EOS and end-of-turn tokens.
fn greedy_answers(
    model: &LlamaModel,
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    dataset: &Dataset,
    rows: &[usize],
    max_new: usize,
) -> Result<Vec<String>> {
    let mut stop_ids = model.config().eos_ids();
    stop_ids.extend(
        tunesmith_engine::tokenizer::END_OF_TURN
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t)),
    );
    let cfg = tunesmith_engine::generate::GenerateConfig {
        max_new_tokens: max_new,
        stop_ids,
        ..Default::default()
    };
    let encode = |text: &str| -> Result<Vec<u32>> {
        Ok(tokenizer
            .encode(text, false)
            .map_err(|e| Error::invalid(format!("cannot tokenise a row: {e}")))?
            .get_ids()
            .to_vec())
    };
    rows.iter()
        .map(|&i| {
            let Content::Chat { messages } = &dataset.examples[i].content else {
                return Err(Error::invalid(format!(
                    "row {i} is not a prompt with a response"
                )));
            };
            let prompt = encode(&template.training_text(messages)?.prompt)?;
            let max_prompt = model
                .config()
                .max_position_embeddings
                .saturating_sub(max_new + 1);
            let prompt = &prompt[prompt.len().saturating_sub(max_prompt)..];
            let out = tunesmith_engine::generate::generate(
                model,
                tokenizer,
                prompt,
                &cfg,
                None,
                &mut |_| {},
            )?;
            Ok(out.text.trim().to_string())
        })
        .collect()
}
