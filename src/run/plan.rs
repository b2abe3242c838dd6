//! The plan of a run: a [`TrainRequest`] resolved once into the settled facts everything else
//! reads (ripgrep's `HiArgs::from_low_args` is the pattern).
//!
//! A plan has the model resolved to a path (a hub id pulled or found in the cache, once), the data
//! options the request implies (roles, split, fixes: the same [`InspectRequest`] the data page uses),
//! the LoRA settings, and every default applied in one place: the maximum length by task, and the
//! loop's settings by method and data size (the engine's literature defaults, the request's values
//! over them). A plan read back from a run folder ([`TrainPlan::of_run`]) carries the run's recorded
//! settings and data fingerprint instead, so evaluation, resume, re-run, chat and export see the
//! run exactly as it trained.

use std::path::{Path, PathBuf};

use tunesmith_data::{Dataset, SplitPlan, Task};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::train::{
    defaults, AdamWConfig, EarlyStopping, Method, SchedulePlan, TrainConfig,
};
use tunesmith_hub::PullEvent;

use super::folder::FoundRun;
use super::manifest::RunManifest;
use super::request::{
    Checkpointing, TrainRequest, DEFAULT_CLASSIFY_MAX_LEN, DEFAULT_GENERATE_MAX_LEN,
};
use crate::data::{DataRequest, InspectRequest};
use crate::{Error, Result};

/// How a plan's training session relates to the run history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new run.
    New,
    /// A new run that trains run `parent` again from the start (same settings, seed and split).
    Rerun {
        /// The run trained again.
        parent: String,
    },
    /// Run `run_id` continued from its checkpoint at step `from_step`.
    Resume {
        /// The run continued.
        run_id: String,
        /// The step of the checkpoint it continues from.
        from_step: u64,
    },
}

/// What a run recorded when it started: its settings and the fingerprint of its data.
#[derive(Debug, Clone)]
struct Recorded {
    run_id: String,
    config: TrainConfig,
    fingerprint: String,
}

/// A request resolved once: what training, evaluation, resume, re-run, chat and export read.
#[derive(Debug, Clone)]
pub struct TrainPlan {
    request: TrainRequest,
    data: DataRequest,
    lora: LoraConfig,
    recorded: Option<Recorded>,
    start: Start,
    /// The schedule chosen from the data ([`TrainPlan::settle`]), or the one a run recorded.
    schedule: Option<SchedulePlan>,
    /// Activation checkpointing as resolved ([`TrainPlan::settle_checkpointing`]), or as a run
    /// recorded it.
    checkpointing: Option<bool>,
}

impl TrainPlan {
    /// Resolves `req` for a new run: the model (a hub id is found in the HF cache, or pulled with
    /// progress to `on_pull` when missing and online) and the request's data options; refuses a
    /// method the task cannot train.
    pub fn resolve(req: &TrainRequest, on_pull: &mut dyn FnMut(&PullEvent)) -> Result<TrainPlan> {
        match (req.task, req.method) {
            (Task::Classify, Method::Qlora) => return Err(Error::invalid(
                "QLoRA applies to decoder models (--task generate); for classification choose full, features or lora",
            )),
            (Task::Generate, Method::Features) => return Err(Error::invalid(
                "feature extraction trains a classification head; for --task generate choose full, lora or qlora",
            )),
            _ => {}
        }
        let mut request = req.clone();
        // The run records the resolved path, so eval, predict and resume find the same files.
        request.model = crate::models::model_path(&req.model.to_string_lossy(), true, on_pull)?;
        Ok(TrainPlan::new(request, None, Start::New))
    }

    /// The plan run `run` trained with, as its manifest records it (settings, fingerprint).
    pub fn of_run(run: &FoundRun) -> TrainPlan {
        TrainPlan::of_manifest(&run.record, Start::New)
    }

    /// Run `run` trained again from the start as a new run pointing back at it.
    pub fn rerun(run: &FoundRun) -> TrainPlan {
        TrainPlan::of_manifest(
            &run.record,
            Start::Rerun {
                parent: run.id.clone(),
            },
        )
    }

    /// Run `run`'s settings (model, method, columns, seed, split fractions) on another data file,
    /// a corrected copy of its data, as a new run pointing back at it (its parent in the history).
    /// The new file is split afresh: it is not the data the parent recorded.
    pub fn on_other_data(run: &FoundRun, data: &Path) -> TrainPlan {
        let mut request = run.record.request.clone();
        request.data = data.to_path_buf();
        TrainPlan::new(
            request,
            None,
            Start::Rerun {
                parent: run.id.clone(),
            },
        )
    }

    /// Run `run` continued from its checkpoint at step `from_step`.
    pub fn resume(run: &FoundRun, from_step: u64) -> TrainPlan {
        TrainPlan::of_manifest(
            &run.record,
            Start::Resume {
                run_id: run.id.clone(),
                from_step,
            },
        )
    }

    fn of_manifest(manifest: &RunManifest, start: Start) -> TrainPlan {
        let recorded = Recorded {
            run_id: manifest.run_id.clone(),
            config: manifest.config.clone(),
            fingerprint: manifest.fingerprint.clone(),
        };
        let mut plan = TrainPlan::new(manifest.request.clone(), Some(recorded), start);
        // A run planned from its data trained with the plan's LoRA rank and alpha.
        if let Some(s) = &manifest.schedule {
            plan.take_lora_from(s);
        }
        plan.schedule = manifest.schedule.clone();
        // Resume, re-run and train-longer use what the run trained with, never a new guess.
        plan.checkpointing = Some(manifest.activation_checkpointing);
        plan
    }

    /// Chooses the run's schedule from its `train_rows` training rows (the request's explicit
    /// settings over it; see [`crate::train_schedule`]) and takes its LoRA rank and alpha. A
    /// recorded run keeps the schedule it recorded. Call before [`TrainPlan::backbone`].
    pub fn settle(&mut self, train_rows: usize) -> SchedulePlan {
        if let Some(s) = &self.schedule {
            return s.clone();
        }
        let s = crate::train_schedule::schedule_for(&self.request, train_rows);
        if self.recorded.is_none() {
            self.take_lora_from(&s);
            self.schedule = Some(s.clone());
        }
        s
    }

    /// The schedule settled or recorded, if any.
    pub fn schedule(&self) -> Option<&SchedulePlan> {
        self.schedule.as_ref()
    }

    fn take_lora_from(&mut self, s: &SchedulePlan) {
        if let Some(r) = s.lora_rank {
            self.lora.r = r as usize;
        }
        if let Some(a) = s.lora_alpha {
            self.lora.alpha = a;
        }
    }

    fn new(request: TrainRequest, recorded: Option<Recorded>, start: Start) -> TrainPlan {
        let mut lora = LoraConfig::default();
        if let Some(r) = request.lora_rank {
            lora.r = r;
        }
        if let Some(a) = request.lora_alpha {
            lora.alpha = a;
        }
        let data = data_choices(&request, &request.data).into_data_request();
        TrainPlan {
            request,
            data,
            lora,
            recorded,
            start,
            schedule: None,
            checkpointing: None,
        }
    }

    /// Resolves activation checkpointing once, for a run of `batch` rows a step: the request's
    /// `on` or `off` as asked; `auto` is on when the memory estimate for this run (model, method,
    /// batch, length, device) says it would not fit (or would be tight) in the memory free now
    /// without checkpointing and fits better with it. Where the estimate or the free memory cannot
    /// be had, auto stays off (never a guess). A recorded run keeps what it recorded.
    pub fn settle_checkpointing(&mut self, home: &crate::home::Home, batch: usize) -> bool {
        if let Some(on) = self.checkpointing {
            return on;
        }
        let on = match self.request.checkpointing {
            Checkpointing::Off => false,
            Checkpointing::On => true,
            Checkpointing::Auto => {
                crate::memory_check::training_estimate(home, self, batch, Checkpointing::Auto)
                    .is_some_and(|r| r.estimate.activation_checkpointing)
            }
        };
        self.checkpointing = Some(on);
        on
    }

    /// Whether the model trains with activation checkpointing: as resolved or recorded; before
    /// [`TrainPlan::settle_checkpointing`], only when the request says `on`.
    pub fn activation_checkpointing(&self) -> bool {
        self.checkpointing
            .unwrap_or(self.request.checkpointing == Checkpointing::On)
    }

    /// The request, its model resolved to a path.
    pub fn request(&self) -> &TrainRequest {
        &self.request
    }

    /// The model: a folder or a `.gguf` file.
    pub fn model(&self) -> &Path {
        &self.request.model
    }

    /// Classification or generation.
    pub fn task(&self) -> Task {
        self.request.task
    }

    /// How the model is fine-tuned.
    pub fn method(&self) -> Method {
        self.request.method
    }

    /// The seed of the split, the order and the fresh weights.
    pub fn seed(&self) -> u64 {
        self.request.seed
    }

    /// How this session relates to the run history (new, re-run, resume).
    pub fn start(&self) -> &Start {
        &self.start
    }

    /// The data options for the run's own file: roles, fixes and the split (fractions and seed).
    pub fn data(&self) -> &DataRequest {
        &self.data
    }

    /// The same data options for another file (evaluating on a separate test file).
    pub fn data_for(&self, file: &Path) -> DataRequest {
        data_choices(&self.request, file).into_data_request()
    }

    /// The LoRA settings: the request's rank and alpha, the defaults for the rest.
    pub fn lora(&self) -> &LoraConfig {
        &self.lora
    }

    /// What of the backbone the method trains: everything (full), nothing (features: frozen), or
    /// LoRA factors beside the frozen weights (LoRA, QLoRA).
    pub fn backbone(&self) -> Backbone {
        match self.method() {
            Method::Full => Backbone::Full,
            Method::Features => Backbone::Frozen,
            Method::Lora | Method::Qlora => Backbone::Lora(LoraSetup {
                config: self.lora.clone(),
                initial: Default::default(),
            }),
        }
    }

    /// The number format the run computes in (the engine resolves `auto` for the device).
    pub fn precision(&self) -> tunesmith_engine::precision::Precision {
        self.request.precision
    }

    /// How the frozen base is stored: 4-bit for QLoRA, as loaded otherwise.
    pub fn quantize(&self) -> Option<QuantPolicy> {
        (self.method() == Method::Qlora).then_some(QuantPolicy::Four)
    }

    /// The longest input in tokens: the request's, else the task's default, capped by the model's
    /// `context` length.
    pub fn max_len(&self, context: usize) -> usize {
        let default = match self.task() {
            Task::Classify => DEFAULT_CLASSIFY_MAX_LEN,
            Task::Generate => DEFAULT_GENERATE_MAX_LEN,
        };
        self.request.max_len.unwrap_or(default).min(context)
    }

    /// The loop's settings over `train_rows` training rows: a recorded run's own settings, else
    /// the schedule chosen from the data ([`TrainPlan::settle`]) with the request's values over it.
    pub fn train_config(&self, train_rows: usize) -> TrainConfig {
        if let Some(r) = &self.recorded {
            return r.config.clone();
        }
        // The schedule chosen from the data, the request's explicit values over it.
        let s = match &self.schedule {
            Some(s) => s.clone(),
            None => crate::train_schedule::schedule_for(&self.request, train_rows),
        };
        crate::train_schedule::loop_config(&s, self.seed(), self.request.checkpoint_every)
    }

    /// The settings of a head trained on the frozen base's features over `train_rows` rows (the
    /// base a classification run is compared with), seeded as the run was.
    pub fn base_head_config(&self, train_rows: usize) -> TrainConfig {
        let seed = self
            .recorded
            .as_ref()
            .map_or(self.seed(), |r| r.config.seed);
        loop_defaults(Method::Features, train_rows, seed)
    }

    /// The run's data read whole and split, refused when the doctor blocks it or, for a recorded
    /// run, when it is no longer the data the run trained on.
    pub fn load_data(&self) -> Result<(Dataset, SplitPlan)> {
        let dataset = crate::data::load(&self.data, &mut |_| {})?;
        crate::data::require_usable(&dataset.report)?;
        if let Some(r) = &self.recorded {
            if dataset.fingerprint() != r.fingerprint {
                let file = self.request.data.display();
                return Err(Error::invalid(match self.start {
                    Start::New => format!(
                        "{file} changed since run {} was trained (its content fingerprint differs), so its held-out rows can no longer be told apart; evaluate with --data on a separate test file instead",
                        r.run_id
                    ),
                    _ => format!(
                        "{file} changed since run {} started (its content fingerprint differs), so the run cannot be repeated on the same rows. Restore the file, or start a new run with `tunesmith train`",
                        r.run_id
                    ),
                }));
            }
        }
        let split = dataset.split(&self.data.options.split)?;
        Ok((dataset, split))
    }

    /// The manifest of a new run of this plan (its id filled in when the history creates it).
    pub(crate) fn manifest(
        &self,
        config: &TrainConfig,
        labels: Vec<String>,
        dataset: &Dataset,
        split: &SplitPlan,
        sizes: [usize; 3],
        device: String,
    ) -> RunManifest {
        RunManifest {
            run_id: String::new(),
            request: self.request.clone(),
            config: config.clone(),
            labels,
            fingerprint: dataset.fingerprint().to_string(),
            split_sizes: sizes,
            split_seed: split.seed,
            split_fingerprint: split.fingerprint.clone(),
            split_fractions: split.fractions.clone(),
            device,
            schedule: self.schedule.clone(),
            activation_checkpointing: self.activation_checkpointing(),
        }
    }
}

/// The data page's choices a training request implies for `file`: the task's columns, the split's
/// fractions and seed, the fixes.
fn data_choices(req: &TrainRequest, file: &Path) -> InspectRequest {
    let (text, label, response) = match req.task {
        Task::Classify => (req.text_column.clone(), req.label_column.clone(), None),
        Task::Generate => (req.prompt_column.clone(), None, req.response_column.clone()),
    };
    InspectRequest {
        file: PathBuf::from(file),
        task: Some(req.task),
        text_column: text,
        label_column: label,
        response_column: response,
        val_fraction: Some(req.val_fraction),
        test_fraction: Some(req.test_fraction),
        seed: Some(req.seed),
        fixes: Some(req.fixes),
        ..Default::default()
    }
}

/// The loop's defaults for `method` over `train_rows` rows (the engine's literature values) with
/// the run's seed: the one place a run's loop settings are made.
fn loop_defaults(method: Method, train_rows: usize, seed: u64) -> TrainConfig {
    let d = defaults(method, train_rows);
    TrainConfig {
        epochs: d.epochs,
        batch_size: d.batch_size,
        lr: d.lr,
        warmup_ratio: d.warmup_ratio,
        seed,
        // Validation loss, not accuracy: on a few hundred validation rows accuracy moves by a
        // few points from one evaluation to the next by chance, so patience on it stopped runs
        // (seen: a head on SST-2 at 5 of 20 epochs, 77 % instead of 80 %) while the loss, smooth,
        // was still falling.
        early_stopping: EarlyStopping {
            metric: "loss".into(),
            higher_is_better: false,
            patience: Some(3),
            min_delta: 0.0,
            min_steps: 0,
        },
        optimizer: AdamWConfig {
            weight_decay: d.weight_decay,
            ..Default::default()
        },
        ..Default::default()
    }
}
