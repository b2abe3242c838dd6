//! The run's settings mapped one to one onto a distributed trainer's: the single table both the
//! TRL config file (`train_config.json`) and the Axolotl YAML are written from.
//!
//! Every setting a local run has (each field of the request, of the resolved loop settings and of
//! the LoRA settings) has exactly one [`Entry`], and each entry says, per trainer, either which
//! keys carry it and with what value ([`Mapped::To`]), that Tunesmith already applied it while
//! writing the job's rows ([`Mapped::Applied`]), that it reaches the trainer through a resolved
//! setting ([`Mapped::Resolved`]), or that the trainer cannot honour it and why
//! ([`Mapped::Unsupported`]). A test enumerates the settings' fields through serde and fails when
//! one has no entry, so a new train option cannot be forgotten here. A few entries carry
//! behaviours rather than settings (prompt masking, the chat template, the files).

use serde_json::{json, Map, Value};
use tunesmith_data::Task;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::train::schedule::Decay;
use tunesmith_engine::train::{Method, TrainConfig};

use super::request::Trainer;
use crate::run::TrainRequest;

/// How a trainer receives one Tunesmith setting.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// These keys (dotted paths into the trainer's config) with these values.
    To(Vec<(&'static str, Value)>),
    /// Tunesmith applied it while writing the job (the rows are already split, fixed, in roles).
    Applied(&'static str),
    /// It reaches the trainer through this resolved setting (a request's `None` became a default).
    Resolved(&'static str),
    /// The trainer cannot honour it; the reason, in words.
    Unsupported(&'static str),
}

/// One Tunesmith setting (a dotted field path: `request.lr`, `config.optimizer.beta1`,
/// `lora.r`) and how each trainer receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The setting's path.
    pub setting: &'static str,
    /// Its value in the run, for the README's table.
    pub value: Value,
    /// How TRL / transformers receive it.
    pub trl: Mapped,
    /// How Axolotl receives it.
    pub axolotl: Mapped,
}

impl Entry {
    /// How `trainer` receives it.
    pub fn for_trainer(&self, trainer: Trainer) -> &Mapped {
        match trainer {
            Trainer::Trl => &self.trl,
            Trainer::Axolotl => &self.axolotl,
        }
    }
}

/// The facts a job's settings are made from: a local run's own, resolved as `train` resolves them.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The request (model resolved to a path).
    pub request: &'a TrainRequest,
    /// The loop's settings for this data size.
    pub config: &'a TrainConfig,
    /// The LoRA settings.
    pub lora: &'a LoraConfig,
    /// The longest row in tokens (the model's context applied).
    pub max_len: usize,
    /// The base model as the trainer loads it (hub id or the folder copied into the job).
    pub base_model: String,
    /// The hub revision, when the base is a hub id.
    pub base_revision: Option<String>,
    /// The modules that get LoRA, as PEFT matches them.
    pub targets: Vec<String>,
    /// Rows in the training split (the warm-up's length in steps depends on it).
    pub train_rows: usize,
    /// Whether the job has validation rows (evaluation, early stopping and the best weights
    /// need them).
    pub has_validation: bool,
    /// The chat template rows are rendered with (generation).
    pub chat_template: Option<String>,
    /// The class names by index (classification).
    pub labels: Vec<String>,
    /// Modules trained whole beside a LoRA adapter (a classifier's head).
    pub modules_to_save: Vec<String>,
}

/// The learning-rate schedule's name in transformers for Tunesmith's decay after warm-up.
pub fn scheduler_name(decay: Decay) -> &'static str {
    match decay {
        Decay::Linear => "linear",
        Decay::Cosine => "cosine",
        // Tunesmith warms up, then stays at the peak.
        Decay::Constant => "constant_with_warmup",
    }
}

/// Optimiser steps of warm-up, counted as the engine counts them (`ceil(ratio x total steps)`).
pub fn warmup_steps(config: &TrainConfig, train_rows: usize) -> usize {
    let total = config.steps_per_epoch(train_rows) * config.epochs;
    (config.warmup_ratio.clamp(0.0, 1.0) * total as f64).ceil() as usize
}

/// The validation metric's name as the trainers log it (`loss` -> `eval_loss`).
fn eval_metric(metric: &str) -> String {
    format!("eval_{metric}")
}

const NOT_A_DEVICE: &str = "the launcher chooses the devices (accelerate's config, torchrun, Slurm); Tunesmith's device choice applies to local runs only";
const COLUMNS: &str = "the columns were read by Tunesmith's data doctor; the job's rows are already text/label or conversations";
const SPLIT: &str = "Tunesmith split the rows (same seed and fractions as a local run); the job holds the train and validation rows, the test rows stay home for `tunesmith eval`";

/// Every setting of the run and how each trainer receives it.
pub fn entries(r: &Resolved<'_>) -> Vec<Entry> {
    let req = r.request;
    let c = r.config;
    let generate = req.task == Task::Generate;
    let lora_method = matches!(req.method, Method::Lora | Method::Qlora);
    let mut out = Vec::new();
    let mut push = |setting: &'static str, value: Value, trl: Mapped, axolotl: Mapped| {
        out.push(Entry {
            setting,
            value,
            trl,
            axolotl,
        })
    };
    let to = |pairs: Vec<(&'static str, Value)>| Mapped::To(pairs);

    // The request, as the user gave it.
    push(
        "request.model",
        json!(req.model.display().to_string()),
        to(vec![
            ("base_model", json!(r.base_model)),
            ("base_model_revision", json!(r.base_revision)),
        ]),
        to(vec![
            ("base_model", json!(r.base_model)),
            ("revision_of_model", json!(r.base_revision)),
        ]),
    );
    push(
        "request.data",
        json!(req.data.display().to_string()),
        to(vec![
            ("train_file", json!(if generate { "data/train.jsonl" } else { "data/train.csv" })),
            (
                "validation_file",
                if r.has_validation {
                    json!(if generate { "data/validation.jsonl" } else { "data/validation.csv" })
                } else {
                    Value::Null
                },
            ),
        ]),
        Mapped::Applied("the split's rows are written to data/train.jsonl and data/validation.jsonl, declared under `datasets` and `test_datasets`"),
    );
    push(
        "request.task",
        json!(task_name(req.task)),
        to(vec![("task", json!(task_name(req.task)))]),
        if generate {
            Mapped::Applied("an Axolotl job is a generation job (`type: chat_template` datasets)")
        } else {
            Mapped::Unsupported("Axolotl trains decoders; export classification jobs for trl")
        },
    );
    push(
        "request.method",
        json!(req.method.to_string()),
        to(vec![("method", json!(req.method.to_string()))]),
        match req.method {
            Method::Lora => to(vec![("adapter", json!("lora"))]),
            Method::Qlora => to(vec![("adapter", json!("qlora")), ("load_in_4bit", json!(true))]),
            Method::Full => Mapped::Applied("no `adapter` key: every weight trains"),
            Method::Features => Mapped::Unsupported("feature extraction trains a classification head, which Axolotl does not"),
        },
    );
    for (setting, value) in [
        ("request.text_column", json!(req.text_column)),
        ("request.label_column", json!(req.label_column)),
        ("request.prompt_column", json!(req.prompt_column)),
        ("request.response_column", json!(req.response_column)),
    ] {
        push(setting, value, Mapped::Applied(COLUMNS), Mapped::Applied(COLUMNS));
    }
    for (setting, value, via) in [
        ("request.epochs", json!(req.epochs), "config.epochs"),
        ("request.lr", json!(req.lr), "config.lr"),
        ("request.batch", json!(req.batch), "config.batch_size"),
        ("request.seed", json!(req.seed), "config.seed"),
        ("request.lora_rank", json!(req.lora_rank), "lora.r"),
        ("request.lora_alpha", json!(req.lora_alpha), "lora.alpha"),
        ("request.checkpoint_every", json!(req.checkpoint_every), "config.checkpoint_every"),
    ] {
        push(setting, value, Mapped::Resolved(via), Mapped::Resolved(via));
    }
    push(
        "request.max_len",
        json!(req.max_len),
        to(vec![("max_length", json!(r.max_len))]),
        to(vec![("sequence_len", json!(r.max_len))]),
    );
    for (setting, value) in [
        ("request.val_fraction", json!(req.val_fraction)),
        ("request.test_fraction", json!(req.test_fraction)),
    ] {
        push(setting, value, Mapped::Applied(SPLIT), Mapped::Applied(SPLIT));
    }
    push(
        "request.device",
        json!(req.device),
        Mapped::Unsupported(NOT_A_DEVICE),
        Mapped::Unsupported(NOT_A_DEVICE),
    );
    // The job's scripts pick bf16 where the GPU supports it and f32 elsewhere: Tunesmith's auto.
    let precision = match req.precision {
        crate::run::Precision::Auto => Mapped::Applied("auto: the job trains in bf16 where the GPU supports it and in f32 elsewhere, as Tunesmith's auto does"),
        _ => Mapped::Unsupported("the job's trainer picks bf16 where the GPU supports it and f32 elsewhere (Tunesmith's auto); an explicit --precision is not passed on"),
    };
    push("request.precision", json!(req.precision), precision.clone(), precision);
    // Activation checkpointing is transformers' and Axolotl's `gradient_checkpointing`; `auto`
    // decides from this machine's free memory, which says nothing of the trainer's.
    let (trl_ckpt, axolotl_ckpt) = match req.checkpointing {
        crate::run::Checkpointing::On => (
            to(vec![("training_arguments.gradient_checkpointing", json!(true))]),
            to(vec![("gradient_checkpointing", json!(true))]),
        ),
        crate::run::Checkpointing::Off => (
            Mapped::Applied("off: the trainer's default (no `gradient_checkpointing`)"),
            Mapped::Applied("off: the trainer's default (no `gradient_checkpointing`)"),
        ),
        crate::run::Checkpointing::Auto => {
            let auto = "auto decides from the free memory of the machine that trains, which the job cannot know: the trainer's default (off) applies; export with --checkpointing on to turn `gradient_checkpointing` on";
            (Mapped::Applied(auto), Mapped::Applied(auto))
        }
    };
    push("request.checkpointing", json!(req.checkpointing), trl_ckpt, axolotl_ckpt);
    // The forgetting check is Tunesmith's own, run on this machine after training: an imported
    // job's run gets it on demand (`tunesmith eval --run RUN --forgetting`, Evaluate).
    let forgetting = "Tunesmith's forgetting check is not part of the job; run it on the imported run with `tunesmith eval --run RUN --forgetting` or Evaluate's \"Check what it forgot\"";
    push(
        "request.forgetting_check",
        json!(req.forgetting_check),
        Mapped::Unsupported(forgetting),
        Mapped::Unsupported(forgetting),
    );
    let fixes = "the data doctor's fixes were applied before the split; the job's rows are the fixed rows";
    push(
        "request.fixes",
        json!(req.fixes),
        Mapped::Applied(fixes),
        Mapped::Applied(fixes),
    );

    // The loop's resolved settings.
    push(
        "config.epochs",
        json!(c.epochs),
        to(vec![("training_arguments.num_train_epochs", json!(c.epochs))]),
        to(vec![("num_epochs", json!(c.epochs))]),
    );
    push(
        "config.batch_size",
        json!(c.batch_size),
        // The global batch is kept whatever the number of processes: the script divides it.
        to(vec![("global_batch_size", json!(c.batch_size))]),
        to(vec![("micro_batch_size", json!(c.batch_size))]),
    );
    push(
        "config.grad_accum",
        json!(c.grad_accum),
        to(vec![("training_arguments.gradient_accumulation_steps", json!(c.grad_accum))]),
        to(vec![("gradient_accumulation_steps", json!(c.grad_accum))]),
    );
    push(
        "config.lr",
        json!(c.lr),
        to(vec![("training_arguments.learning_rate", json!(c.lr))]),
        to(vec![("learning_rate", json!(c.lr))]),
    );
    let warmup = warmup_steps(c, r.train_rows);
    push(
        "config.warmup_ratio",
        json!(c.warmup_ratio),
        to(vec![("training_arguments.warmup_steps", json!(warmup))]),
        to(vec![("warmup_steps", json!(warmup))]),
    );
    push(
        "config.decay",
        json!(c.decay),
        to(vec![("training_arguments.lr_scheduler_type", json!(scheduler_name(c.decay)))]),
        to(vec![("lr_scheduler", json!(scheduler_name(c.decay)))]),
    );
    let o = &c.optimizer;
    for (setting, value, trl_key, ax_key) in [
        ("config.optimizer.beta1", o.beta1, "training_arguments.adam_beta1", "adam_beta1"),
        ("config.optimizer.beta2", o.beta2, "training_arguments.adam_beta2", "adam_beta2"),
        ("config.optimizer.eps", o.eps, "training_arguments.adam_epsilon", "adam_epsilon"),
        ("config.optimizer.weight_decay", o.weight_decay, "training_arguments.weight_decay", "weight_decay"),
    ] {
        push(setting, json!(value), to(vec![(trl_key, json!(value))]), to(vec![(ax_key, json!(value))]));
    }
    // transformers clips only when the norm is positive: 0 means "no clipping", as `None` here.
    let clip = c.max_grad_norm.unwrap_or(0.0);
    push(
        "config.max_grad_norm",
        json!(c.max_grad_norm),
        to(vec![("training_arguments.max_grad_norm", json!(clip))]),
        to(vec![("max_grad_norm", json!(clip))]),
    );
    push(
        "config.seed",
        json!(c.seed),
        to(vec![
            ("training_arguments.seed", json!(c.seed)),
            ("training_arguments.data_seed", json!(c.seed)),
        ]),
        to(vec![("seed", json!(c.seed))]),
    );
    let (strategy, steps) = match (r.has_validation, c.eval_every) {
        (false, _) => ("no", Value::Null),
        (true, None) => ("epoch", Value::Null),
        (true, Some(n)) => ("steps", json!(n)),
    };
    push(
        "config.eval_every",
        json!(c.eval_every),
        // The best weights are kept as Tunesmith keeps them, which needs a save at each evaluation.
        to(vec![
            ("training_arguments.eval_strategy", json!(strategy)),
            ("training_arguments.eval_steps", steps.clone()),
            ("training_arguments.save_strategy", json!(if strategy == "no" { "epoch" } else { strategy })),
            ("training_arguments.save_steps", steps.clone()),
        ]),
        match c.eval_every {
            None => to(vec![("evals_per_epoch", json!(if r.has_validation { 1 } else { 0 })), ("saves_per_epoch", json!(1))]),
            Some(n) => to(vec![("eval_steps", json!(n)), ("save_steps", json!(n))]),
        },
    );
    let ckpt = "checkpoints follow the evaluations (transformers keeps the best weights only when every evaluation is saved); a resumable checkpoint every N steps in between is not written";
    push(
        "config.checkpoint_every",
        json!(c.checkpoint_every),
        if c.checkpoint_every.is_some() { Mapped::Unsupported(ckpt) } else { Mapped::Applied("checkpoints at the end of each epoch, as `training_arguments.save_strategy` says") },
        if c.checkpoint_every.is_some() { Mapped::Unsupported(ckpt) } else { Mapped::Applied("checkpoints at the end of each epoch (`saves_per_epoch: 1`)") },
    );
    let es = &c.early_stopping;
    push(
        "config.early_stopping.metric",
        json!(es.metric),
        to(vec![
            ("training_arguments.load_best_model_at_end", json!(r.has_validation)),
            ("training_arguments.metric_for_best_model", json!(eval_metric(&es.metric))),
        ]),
        to(vec![
            ("load_best_model_at_end", json!(r.has_validation)),
            ("metric_for_best_model", json!(eval_metric(&es.metric))),
        ]),
    );
    push(
        "config.early_stopping.higher_is_better",
        json!(es.higher_is_better),
        to(vec![("training_arguments.greater_is_better", json!(es.higher_is_better))]),
        to(vec![("greater_is_better", json!(es.higher_is_better))]),
    );
    let patience = es.patience.filter(|_| r.has_validation);
    push(
        "config.early_stopping.patience",
        json!(es.patience),
        to(vec![("early_stopping.patience", json!(patience))]),
        to(vec![("early_stopping_patience", json!(patience))]),
    );
    push(
        "config.early_stopping.min_delta",
        json!(es.min_delta),
        to(vec![("early_stopping.threshold", json!(es.min_delta))]),
        if es.min_delta == 0.0 {
            Mapped::Applied("Axolotl's early stopping counts any improvement, as a min_delta of 0 does")
        } else {
            Mapped::Unsupported("Axolotl has no early-stopping threshold; export for trl to keep it")
        },
    );
    let min_steps = "transformers' early stopping has no grace period: evaluations before this step count";
    push(
        "config.early_stopping.min_steps",
        json!(es.min_steps),
        if es.min_steps == 0 { Mapped::Applied("no grace period, as transformers' early stopping") } else { Mapped::Unsupported(min_steps) },
        if es.min_steps == 0 { Mapped::Applied("no grace period, as Axolotl's early stopping") } else { Mapped::Unsupported(min_steps) },
    );

    // LoRA (the method decides whether it applies).
    let not_lora = "the method trains no LoRA adapter";
    let lora = |pairs: Vec<(&'static str, Value)>| if lora_method { Mapped::To(pairs) } else { Mapped::Applied(not_lora) };
    let l = r.lora;
    push("lora.r", json!(l.r), lora(vec![("lora.r", json!(l.r))]), lora(vec![("lora_r", json!(l.r))]));
    push("lora.alpha", json!(l.alpha), lora(vec![("lora.lora_alpha", json!(l.alpha))]), lora(vec![("lora_alpha", json!(l.alpha))]));
    // The engine keeps the dropout as f32: written through its shortest decimal form, 0.05 stays
    // 0.05 rather than becoming 0.05000000074505806.
    let dropout: f64 = l.dropout.to_string().parse().unwrap_or(l.dropout as f64);
    push("lora.dropout", json!(dropout), lora(vec![("lora.lora_dropout", json!(dropout))]), lora(vec![("lora_dropout", json!(dropout))]));
    push(
        "lora.target_modules",
        json!(l.target_modules),
        lora(vec![("lora.target_modules", json!(r.targets))]),
        lora(vec![("lora_target_modules", json!(r.targets))]),
    );
    push(
        "lora.use_rslora",
        json!(l.use_rslora),
        lora(vec![("lora.use_rslora", json!(l.use_rslora))]),
        if l.use_rslora { Mapped::Unsupported("Axolotl's config has no rsLoRA switch here; export for trl") } else { Mapped::Applied("plain alpha / r scaling, Axolotl's default") },
    );

    // Behaviours of a local run that are not settings, written so the trainer does the same.
    push(
        "behaviour.prompt_masking",
        json!(true),
        to(vec![("prompt_masking", json!(generate))]),
        to(vec![("train_on_inputs", json!(false))]),
    );
    push(
        "behaviour.chat_template",
        json!(r.chat_template),
        to(vec![("chat_template", json!(r.chat_template))]),
        to(vec![("chat_template", json!("jinja")), ("chat_template_jinja", json!(r.chat_template))]),
    );
    push(
        "behaviour.labels",
        json!(r.labels),
        to(vec![("labels", json!(r.labels))]),
        Mapped::Applied("no labels: generation"),
    );
    push(
        "behaviour.head",
        json!(r.modules_to_save),
        if lora_method && !generate {
            to(vec![("lora.modules_to_save", json!(r.modules_to_save))])
        } else {
            Mapped::Applied("no head trained beside an adapter")
        },
        Mapped::Applied("no head trained beside an adapter: generation"),
    );
    push(
        "behaviour.quantization",
        json!(req.method == Method::Qlora),
        // Tunesmith's 4-bit blocks and bitsandbytes' NF4 are both 4-bit, not bit-identical.
        to(vec![(
            "quantization",
            if req.method == Method::Qlora {
                json!({"load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": false})
            } else {
                Value::Null
            },
        )]),
        Mapped::Resolved("request.method"),
    );
    push(
        "behaviour.output",
        json!("output/final"),
        to(vec![("output_dir", json!("output"))]),
        to(vec![("output_dir", json!("./output"))]),
    );
    out
}

/// `classify` or `generate`.
pub fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classify => "classify",
        Task::Generate => "generate",
    }
}

/// The trainer's config as one JSON object built from the entries' dotted keys.
pub fn config_object(entries: &[Entry], trainer: Trainer) -> Value {
    let mut root = Map::new();
    for e in entries {
        if let Mapped::To(pairs) = e.for_trainer(trainer) {
            for (key, value) in pairs {
                insert_dotted(&mut root, key, value.clone());
            }
        }
    }
    Value::Object(root)
}

fn insert_dotted(root: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            root.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let child = root
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                insert_dotted(m, rest, value);
            }
        }
    }
}

/// The settings' field paths a local run has: every field of the request, of the resolved loop
/// settings (nested ones as `config.optimizer.beta1`) and of the LoRA settings, read through serde
/// so a field added to any of them shows up here without anyone listing it.
pub fn run_setting_paths(request: &TrainRequest, config: &TrainConfig, lora: &LoraConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut walk = |prefix: &str, v: Value, nested: bool| {
        if let Value::Object(m) = v {
            for (k, v) in m {
                match v {
                    Value::Object(inner) if nested => {
                        for k2 in inner.keys() {
                            out.push(format!("{prefix}.{k}.{k2}"));
                        }
                    }
                    _ => out.push(format!("{prefix}.{k}")),
                }
            }
        }
    };
    walk("request", serde_json::to_value(request).unwrap_or(Value::Null), false);
    walk("config", serde_json::to_value(config).unwrap_or(Value::Null), true);
    walk("lora", serde_json::to_value(lora).unwrap_or(Value::Null), false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn resolved_for(task: Task, method: Method) -> (TrainRequest, TrainConfig, LoraConfig) {
        let req = TrainRequest::new(PathBuf::from("m"), PathBuf::from("d.csv"), task, method);
        (req, TrainConfig::default(), LoraConfig::default())
    }

    #[test]
    fn every_setting_of_a_local_run_has_an_entry_for_each_trainer() {
        for (task, method) in [(Task::Generate, Method::Lora), (Task::Classify, Method::Full)] {
            let (req, config, lora) = resolved_for(task, method);
            let r = Resolved {
                request: &req,
                config: &config,
                lora: &lora,
                max_len: 64,
                base_model: "b".into(),
                base_revision: None,
                targets: vec!["q_proj".into()],
                train_rows: 10,
                has_validation: true,
                chat_template: None,
                labels: vec![],
                modules_to_save: vec![],
            };
            let entries = entries(&r);
            for path in run_setting_paths(&req, &config, &lora) {
                assert!(
                    entries.iter().any(|e| e.setting == path),
                    "`{path}` has no entry in src/job/settings.rs: map it for trl and axolotl, or say why a trainer cannot honour it"
                );
            }
        }
    }

    #[test]
    fn dotted_keys_nest_into_the_config_object() {
        let mut m = Map::new();
        insert_dotted(&mut m, "lora.r", json!(8));
        insert_dotted(&mut m, "lora.lora_alpha", json!(16.0));
        insert_dotted(&mut m, "seed", json!(1));
        assert_eq!(Value::Object(m), json!({"lora": {"r": 8, "lora_alpha": 16.0}, "seed": 1}));
    }

    #[test]
    fn warmup_counts_steps_as_the_engine_does() {
        let c = TrainConfig { epochs: 2, batch_size: 4, warmup_ratio: 0.1, ..Default::default() };
        // 10 rows -> 3 steps an epoch -> 6 steps -> ceil(0.6) = 1.
        assert_eq!(warmup_steps(&c, 10), 1);
    }
}
