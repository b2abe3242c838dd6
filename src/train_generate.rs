//! `train --task generate`: supervised fine-tuning of a Llama-family decoder (a model folder or a
//! `.gguf` file) on prompt/response rows, with full fine-tuning, LoRA or QLoRA.
//!
//! Each row becomes a conversation rendered with the model's own chat template
//! (`tokenizer_config.json`'s, or the GGUF's `tokenizer.chat_template`), so the model is trained on
//! exactly the text it will see when chatting; only the response tokens are learned. Validation
//! reports the held-out response loss and perplexity; the untouched base model's numbers on the same
//! rows are measured first, sent as an `eval` event at step 0 and returned as `base_loss` /
//! `base_perplexity`. The run folder gets
//! `run.json`, `checkpoints/`, and for LoRA/QLoRA the adapter in PEFT's format under `adapter/`.

use std::path::Path;

use candle_core::Device;
use tokenizers::Tokenizer;
use tunesmith_data::{ChatTemplate, Content, Dataset, InspectOptions, RoleOverrides, SplitConfig};
use tunesmith_engine::device;
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::task::{SftExample, SftTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::{
    train as run_loop, CancelHandle, Method, Metrics, TrainEvent, TrainOptions,
};
use tunesmith_engine::EngineError;

use crate::home::Home;
use crate::train::{RunEvent, RunRecord, TrainRequest, TrainSummary};
use crate::{Error, Result};

/// The folder, inside the run folder, that holds the PEFT adapter.
pub const ADAPTER_DIR: &str = "adapter";

/// A template for models that ship none: the prompt, a line break, the answer, the end token.
const PLAIN_TEMPLATE: &str = "{% for m in messages %}{% if m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% else %}{{ m['content'] + '\n' }}{% endif %}{% endfor %}";

fn invalid(msg: String) -> Error {
    Error::Engine(EngineError::Invalid(msg))
}

/// Trains a decoder as `req` asks (`req.task` is `generate`), reporting every event to `on_event`.
pub fn train(
    home: &Home,
    req: &TrainRequest,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    if req.method == Method::Features {
        return Err(invalid(
            "feature extraction trains a classification head; for --task generate choose full, lora or qlora".into(),
        ));
    }
    let request = data_request(req, &req.data);
    let dataset: Dataset = crate::data::load(&request, &mut |_| {})?;
    crate::data::require_usable(&dataset.report)?;
    let plan = dataset.split(&request.options.split)?;
    let device = device::open(req.device)?;

    let lora = crate::train::lora_config(req);
    let backbone = match req.method {
        Method::Full => Backbone::Full,
        _ => Backbone::Lora(LoraSetup {
            config: lora.clone(),
            initial: Default::default(),
        }),
    };
    let decoder = Decoder::load(req, backbone, &device)?;
    let examples = decoder.examples(&dataset)?;
    let (model, pad_id) = (decoder.model, decoder.pad_id);
    let pick = |b: usize| -> Vec<SftExample> {
        plan.indices(b)
            .into_iter()
            .map(|i| examples[i].clone())
            .collect()
    };
    let (train_set, val_set) = (pick(0), pick(1));
    let test_len = plan.indices(2).len();
    if train_set.is_empty() {
        return Err(invalid(format!(
            "{} has no rows left for training after the split; add rows or lower --val-fraction/--test-fraction",
            req.data.display()
        )));
    }

    let mut task = SftTask::new(model, pad_id);
    // The untouched base on the same held-out rows, so the user sees what training changed.
    let base = if val_set.is_empty() {
        None
    } else {
        Some(task.report(&val_set)?)
    };

    let config = crate::train::train_config(req, train_set.len());

    let store = crate::runs::open_store(home)?;
    let created = store.create_run(&crate::train::new_run(
        req,
        "generate",
        &config,
        &dataset,
        &plan,
        [train_set.len(), val_set.len(), test_len],
        &device::name(&device),
        tunesmith_store::PrimaryMetric {
            name: "perplexity".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Min,
        },
        None,
    )?)?;
    let run_id = created.id.clone();
    let dir = store.run_dir(&run_id);
    let record = RunRecord {
        run_id: run_id.clone(),
        request: req.clone(),
        config: config.clone(),
        labels: Vec::new(),
        fingerprint: dataset.fingerprint().to_string(),
        split_sizes: [train_set.len(), val_set.len(), test_len],
        split_seed: plan.seed,
        split_fingerprint: plan.fingerprint.clone(),
        device: device::name(&device),
    };
    crate::train::write_record(&dir, &record)?;
    let opts = TrainOptions {
        checkpoint_dir: Some(dir.join("checkpoints")),
        resume: false,
        cancel,
    };
    // The untouched model's held-out numbers, reported as an evaluation at step 0 right after the
    // `started` event (the event stream always opens with `started`), before any update.
    let mut base_eval = base.as_ref().map(|b| TrainEvent::Eval {
        step: 0,
        metrics: Metrics::from([
            ("loss".to_string(), b.loss),
            ("perplexity".to_string(), b.perplexity),
        ]),
        best: false,
    });
    let mut history = crate::runs_record::EventRecorder::new(
        tunesmith_store::RunRecorder::start(&store, &run_id)?,
        opts.checkpoint_dir.as_deref(),
    );
    let out = run_loop(&mut task, &train_set, &val_set, &config, &opts, &mut |e| {
        history.record(e);
        on_event(&RunEvent::new(&run_id, e.clone()));
        if matches!(e, TrainEvent::Started { .. }) {
            if let Some(eval) = base_eval.take() {
                history.record(&eval);
                on_event(&RunEvent::new(&run_id, eval));
            }
        }
    });
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            history.fail(&e.to_string());
            return Err(e.into());
        }
    };
    if let Some(e) = history.into_error() {
        return Err(e.into());
    }
    if req.method != Method::Full {
        let adapter = dir.join(ADAPTER_DIR);
        task.save_adapter(&adapter, &lora, &req.model.display().to_string())?;
        // Recorded in the history so `chat --run` and `compare` find it.
        store.record_artefact(
            &run_id,
            tunesmith_store::ArtefactKind::Adapter,
            &adapter,
            None,
        )?;
    }
    let mut metrics = out.metrics;
    if let Some(b) = base {
        metrics.insert("base_loss".into(), b.loss);
        metrics.insert("base_perplexity".into(), b.perplexity);
    }
    Ok(TrainSummary {
        run_id,
        dir,
        status: out.status,
        metrics,
    })
}

/// The data request a generation run reads `file` with: its prompt and response columns, fixes and
/// split (fractions and seed), so evaluation finds exactly the rows training held out.
pub(crate) fn data_request(req: &TrainRequest, file: &Path) -> crate::data::DataRequest {
    crate::data::DataRequest {
        file: file.to_path_buf(),
        model: None,
        options: InspectOptions {
            roles: RoleOverrides {
                task: Some(tunesmith_data::Task::Generate),
                text_columns: req.prompt_column.iter().cloned().collect(),
                label_column: None,
                response_column: req.response_column.clone(),
            },
            split: SplitConfig {
                validation: req.val_fraction,
                test: req.test_fraction,
                seed: req.seed,
                ..Default::default()
            },
            fixes: req.fixes,
            ..Default::default()
        },
    }
}

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
    /// Loads `req.model` (a folder or a `.gguf` file) with `backbone` on `device`, 4-bit for QLoRA.
    pub(crate) fn load(req: &TrainRequest, backbone: Backbone, device: &Device) -> Result<Decoder> {
        let loaded = LlamaModel::load(
            &req.model,
            &LlamaLoadOptions {
                backbone,
                quantize: (req.method == Method::Qlora).then_some(QuantPolicy::Four),
                dtype: candle_core::DType::F32,
                device: device.clone(),
                seed: req.seed,
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
                let tok = TextTokenizer::from_dir(&req.model)?;
                let cfg_path = req.model.join("tokenizer_config.json");
                let cfg: serde_json::Value = match std::fs::read_to_string(&cfg_path) {
                    Ok(text) => serde_json::from_str(&text).map_err(|e| {
                        invalid(format!(
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
        let max_len = req
            .max_len
            .unwrap_or(256)
            .min(model.config().max_position_embeddings);
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
            .map_err(|e| invalid(format!("cannot tokenise a row: {e}")))?
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
        let mut stop_ids = self.model.config().eos_ids();
        stop_ids.extend(
            tunesmith_engine::tokenizer::END_OF_TURN
                .iter()
                .filter_map(|t| self.tokenizer.token_to_id(t)),
        );
        let cfg = tunesmith_engine::generate::GenerateConfig {
            max_new_tokens: max_new,
            stop_ids,
            ..Default::default()
        };
        rows.iter()
            .map(|&i| {
                let Content::Chat { messages } = &dataset.examples[i].content else {
                    return Err(invalid(format!("row {i} is not a prompt with a response")));
                };
                let prompt = self.encode(&self.template.training_text(messages)?.prompt)?;
                let max_prompt = self
                    .model
                    .config()
                    .max_position_embeddings
                    .saturating_sub(max_new + 1);
                let prompt = &prompt[prompt.len().saturating_sub(max_prompt)..];
                let out = tunesmith_engine::generate::generate(
                    &self.model,
                    &self.tokenizer,
                    prompt,
                    &cfg,
                    None,
                    &mut |_| {},
                )?;
                Ok(out.text.trim().to_string())
            })
            .collect()
    }

    /// Every row of `dataset` as a training conversation in the model's chat template, only the
    /// response tokens counted.
    pub(crate) fn examples(&self, dataset: &Dataset) -> Result<Vec<SftExample>> {
        dataset
            .examples
            .iter()
            .map(|e| {
                let Content::Chat { messages } = &e.content else {
                    return Err(invalid(format!(
                        "{} line {}: not a prompt with a response; name the columns with --prompt-column and --response-column",
                        dataset.report.file, e.line
                    )));
                };
                let t = self.template.training_text(messages)?;
                SftExample::new(&self.encode(&t.prompt)?, &self.encode(&t.full)?, self.max_len)
                    .map_err(|err| invalid(format!("line {}: {err}", e.line)))
            })
            .collect()
    }
}
