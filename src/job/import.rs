//! `job import`: a distributed trainer's output brought back as the run its job became.
//!
//! It reads the job's manifest and the trainer's output (a PEFT adapter folder, or a whole
//! checkpoint, with `trainer_state.json`), checks that the weights are this job's (the run id and
//! config the TRL script records, the base model, the LoRA rank, alpha and targets, the task) and
//! refuses with the reason when they are not. Only then is anything written: the weights go where
//! a local run keeps them (a generation adapter in the run's `adapter/`, a full decoder in its
//! `merged/` folder, classifier weights as the engine's best checkpoint), and the history gets the
//! trainer's loss curve and evaluations and ends the run finished. From then on evaluation,
//! prediction, chat, compare and export read the run as they read a local one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tunesmith_data::Task;
use tunesmith_engine::adapters::peft::{PeftAdapter, CONFIG_FILE as PEFT_CONFIG};
use tunesmith_engine::device::Device;
use tunesmith_engine::models::llama_config::LlamaConfig;
use tunesmith_engine::session::imported::{
    model_files_as_checkpoint, trainable_as_checkpoint, TrainedWeights,
};
use tunesmith_engine::train::checkpoint::BEST_FILE;
use tunesmith_engine::train::{Method, TrainTask};
use tunesmith_store::{ArtefactKind, RunRecorder, RunStatus, Split, Store};

use super::export::primary_metric;
use super::manifest::{JobManifest, OUTPUT_DIR, RESULT_FILE};
use super::request::JobImportSummary;
use super::trainer_state::{TrainerLog, TRAINER_STATE_FILE};
use crate::session::{invalid_of, EncoderSession};
use crate::home::Home;
use crate::run::{find_run, FoundRun, RunManifest, TrainPlan};
use crate::{Error, Result};

/// What the trainer left: a PEFT adapter, or a whole model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainerOutputKind {
    /// `adapter_config.json` + `adapter_model.safetensors`.
    Adapter,
    /// `config.json` + `*.safetensors`.
    Full,
}

/// The trainer's output found in a job folder.
#[derive(Debug, Clone)]
pub struct TrainerOutput {
    /// The folder holding the weights.
    pub weights: PathBuf,
    /// Adapter or full checkpoint.
    pub kind: TrainerOutputKind,
    /// Its `trainer_state.json`.
    pub state: PathBuf,
    /// What the TRL script recorded (`tunesmith-result.json`), when present.
    pub result: Option<Value>,
}

impl TrainerOutput {
    /// Finds the weights (`output/final/`, `output/`, then the folder itself) and the trainer
    /// state beside them, else in the newest `output/checkpoint-*`.
    pub fn find(dir: &Path) -> Result<TrainerOutput> {
        let out = dir.join(OUTPUT_DIR);
        let candidates = [out.join("final"), out.clone(), dir.to_path_buf()];
        let found = candidates.iter().find_map(|c| {
            if c.join(PEFT_CONFIG).is_file() {
                Some((c.clone(), TrainerOutputKind::Adapter))
            } else if c.join("config.json").is_file() && !safetensors_in(c).is_empty() {
                Some((c.clone(), TrainerOutputKind::Full))
            } else {
                None
            }
        });
        let Some((weights, kind)) = found else {
            return Err(Error::invalid(format!(
                "{} holds no trained weights: copy the trainer's output/ folder back into the job folder (output/final/ with adapter_config.json and adapter_model.safetensors, or a whole model's config.json and *.safetensors)",
                dir.display()
            )));
        };
        let state = if weights.join(TRAINER_STATE_FILE).is_file() {
            weights.join(TRAINER_STATE_FILE)
        } else {
            newest_checkpoint_state(&out).ok_or_else(|| {
                Error::invalid(format!(
                    "no {TRAINER_STATE_FILE} beside {} nor in {}/checkpoint-*: copy back the trainer's output with its state, which holds the loss curve",
                    weights.display(),
                    out.display()
                ))
            })?
        };
        let result = std::fs::read_to_string(weights.join(RESULT_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        Ok(TrainerOutput {
            weights,
            kind,
            state,
            result,
        })
    }
}

fn safetensors_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn newest_checkpoint_state(out: &Path) -> Option<PathBuf> {
    std::fs::read_dir(out)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_prefix("checkpoint-")?.parse().ok()?;
            let state = e.path().join(TRAINER_STATE_FILE);
            state.is_file().then_some((n, state))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p)
}

/// Imports the trainer's output in job folder `dir` as the job's run.
pub fn import_job(home: &Home, dir: &Path) -> Result<JobImportSummary> {
    let job = JobManifest::read(dir)?;
    let output = TrainerOutput::find(dir)?;
    check_result(&job, &output)?;
    let generation = job.request.task == Task::Generate;
    let log = TrainerLog::read(&output.state, generation)?;
    let weights = Imported::check(&job, &output)?;

    let store = crate::runs::open_store(home)?;
    let run_id = run_for(&store, &job)?;
    let run = find_run(home, &run_id)?;
    let plan = TrainPlan::of_run(&run);
    let (kind, path) = weights.install(&run, &plan, &job)?;

    let mut rec = RunRecorder::start(&store, &run_id)?;
    let recorded = (|| -> Result<()> {
        for s in &log.steps {
            let mut values = vec![("loss", s.loss)];
            values.extend(s.lr.map(|x| ("lr", x)));
            values.extend(s.grad_norm.map(|x| ("grad_norm", x)));
            values.extend(s.epoch.map(|x| ("epoch", x)));
            rec.step(s.step, &values)?;
        }
        for e in &log.evals {
            let values: Vec<(&str, f64)> = e.metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            rec.eval(e.step, Split::Validation, &values)?;
        }
        rec.artefact(kind, &path, None)?;
        Ok(())
    })();
    if let Err(e) = recorded {
        let _ = rec.finish(RunStatus::Failed, Some(&format!("the import stopped: {e}")));
        return Err(e);
    }
    let world_size = output
        .result
        .as_ref()
        .and_then(|r| r.get("world_size"))
        .and_then(Value::as_u64);
    let versions = output
        .result
        .as_ref()
        .and_then(|r| r.get("versions"))
        .map(|v| v.to_string())
        .unwrap_or_else(|| "not recorded".into());
    store.add_note(
        &run_id,
        &format!(
            "Trained elsewhere by {} ({} process{}; {versions}) and imported from {}",
            job.trainer.as_str(),
            world_size.map_or("?".to_string(), |n| n.to_string()),
            if world_size == Some(1) { "" } else { "es" },
            dir.display()
        ),
    )?;
    rec.finish(RunStatus::Finished, None)?;
    Ok(JobImportSummary {
        run_id,
        dir: run.dir.clone(),
        kind: match output.kind {
            TrainerOutputKind::Adapter => "adapter".into(),
            TrainerOutputKind::Full => "full".into(),
        },
        steps: log.global_step,
        loss_points: log.steps.len(),
        metrics: log.evals.last().map(|e| e.metrics.clone()).unwrap_or_default(),
        world_size,
    })
}

/// The TRL script's record of what it ran must be this job's, untouched.
fn check_result(job: &JobManifest, output: &TrainerOutput) -> Result<()> {
    let Some(result) = &output.result else {
        return Ok(());
    };
    let field = |k: &str| result.get(k).and_then(Value::as_str).unwrap_or("");
    if field("run_id") != job.run_id {
        return Err(Error::invalid(format!(
            "the weights in {} were trained for run {}, not for this job's run {}; copy back this job's own output",
            output.weights.display(),
            field("run_id"),
            job.run_id
        )));
    }
    if field("config_sha256") != job.config_sha256 {
        return Err(Error::invalid(
            "train_config.json was changed after the export (its hash differs from the one in job.json), so the weights are not the run Tunesmith exported; export the job again with the settings you want instead of editing it",
        ));
    }
    Ok(())
}

/// The history's run for `job`: the queued run the export created, or, when the job was exported
/// from another Tunesmith home, a new run made from the job's manifest.
fn run_for(store: &Store, job: &JobManifest) -> Result<String> {
    if let Some(run) = store.run(&job.run_id)? {
        if run.status != RunStatus::Queued {
            return Err(Error::invalid(format!(
                "run {} is already {} in the history, so this job was imported before (or the run was started here); `tunesmith runs show {}` shows it",
                run.id,
                run.status.as_str(),
                run.id
            )));
        }
        return Ok(run.id);
    }
    let mut manifest = RunManifest {
        run_id: String::new(),
        request: job.request.clone(),
        config: job.config.clone(),
        labels: job.labels.clone(),
        fingerprint: job.data_fingerprint.clone(),
        split_sizes: job.split.sizes,
        split_seed: job.split.seed,
        split_fingerprint: job.split.fingerprint.clone(),
        split_fractions: job.split.fractions.clone(),
        device: format!("elsewhere ({})", job.trainer.as_str()),
        schedule: job.schedule.clone(),
        // Trained elsewhere: only an explicit `on` is known to have been asked for.
        activation_checkpointing: job.request.checkpointing == crate::run::Checkpointing::On,
    };
    let mut new_run = manifest.new_run(primary_metric(job.request.task), None)?;
    new_run.name = Some(format!(
        "{}-{} ({})",
        manifest.task_name(),
        job.request.method,
        job.trainer.as_str()
    ));
    let created = store.create_run(&new_run)?;
    manifest.run_id = created.id.clone();
    if let Err(e) = manifest.write(&store.run_dir(&created.id)) {
        let _ = store.delete_run(&created.id);
        return Err(e);
    }
    Ok(created.id)
}

/// The trainer's weights (in `dir`), checked against the job: a LoRA adapter, or whole weights.
struct Imported {
    dir: PathBuf,
    adapter: Option<PeftAdapter>,
}

impl Imported {
    fn check(job: &JobManifest, output: &TrainerOutput) -> Result<Imported> {
        let lora_job = matches!(job.request.method, Method::Lora | Method::Qlora);
        let dir = &output.weights;
        match (output.kind, lora_job) {
            (TrainerOutputKind::Adapter, false) => {
                return Err(Error::invalid(format!(
                    "{} holds a LoRA adapter, but the job trains with the {} method (whole weights); copy back the full model the trainer saved",
                    dir.display(),
                    job.request.method
                )))
            }
            (TrainerOutputKind::Full, true) => {
                return Err(Error::invalid(format!(
                    "{} holds a whole model, but the job trains a {} adapter; copy back the adapter folder (adapter_config.json, adapter_model.safetensors)",
                    dir.display(),
                    job.request.method
                )))
            }
            _ => {}
        }
        if output.kind == TrainerOutputKind::Full {
            check_same_architecture(job, dir)?;
            return Ok(Imported {
                dir: dir.clone(),
                adapter: None,
            });
        }
        let adapter = PeftAdapter::load(dir, &Device::Cpu)?;
        let wanted_task = match job.request.task {
            Task::Generate => "CAUSAL_LM",
            Task::Classify => "SEQ_CLS",
        };
        if let Some(t) = adapter.task_type.as_deref().filter(|t| *t != wanted_task) {
            return Err(Error::invalid(format!(
                "the adapter in {} is a {t} adapter; this job trains a {wanted_task} one",
                dir.display()
            )));
        }
        if let Some(base) = &adapter.base_model_name_or_path {
            if !same_base(base, &job.base.reference) {
                return Err(Error::invalid(format!(
                    "the adapter in {} was trained on `{base}`, but the job's base model is `{}`; the weights belong to another base and cannot be imported as this run",
                    dir.display(),
                    job.base.reference
                )));
            }
        }
        let (r, alpha) = (adapter.config.r, adapter.config.alpha);
        if r != job.lora.r || (alpha - job.lora.alpha).abs() > 1e-9 {
            return Err(Error::invalid(format!(
                "the adapter in {} has rank {r} and alpha {alpha}; the job asked for rank {} and alpha {} (was train_config.json edited?)",
                dir.display(),
                job.lora.r,
                job.lora.alpha
            )));
        }
        if adapter.config.use_rslora != job.lora.use_rslora {
            return Err(Error::invalid(format!(
                "the adapter in {} {} rsLoRA scaling and the job does not agree; export the job again",
                dir.display(),
                if adapter.config.use_rslora { "uses" } else { "does not use" }
            )));
        }
        if job.request.task == Task::Generate {
            check_decoder_targets(job, &adapter, dir)?;
        }
        Ok(Imported {
            dir: dir.clone(),
            adapter: Some(adapter),
        })
    }

    /// Puts the weights where a local run of this kind keeps them; returns the artefact to record.
    fn install(
        &self,
        run: &FoundRun,
        plan: &TrainPlan,
        job: &JobManifest,
    ) -> Result<(ArtefactKind, PathBuf)> {
        match (job.request.task, &self.adapter) {
            (Task::Generate, Some(_)) => {
                let to = run.folder.adapter();
                copy_files(&self.dir, &to)?;
                Ok((ArtefactKind::Adapter, to))
            }
            (Task::Generate, None) => {
                // Chat and export read the merged folder; evaluation restores the engine's
                // checkpoint, as for a local full fine-tune.
                let to = run.folder.merged();
                copy_files(&self.dir, &to)?;
                let best = run.folder.checkpoints().join(BEST_FILE);
                model_files_as_checkpoint(&safetensors_in(&self.dir), &best)
                    .map_err(invalid_of)?;
                Ok((ArtefactKind::Merged, to))
            }
            (Task::Classify, _) => {
                let best = classifier_checkpoint(run, plan, job, self)?;
                Ok((ArtefactKind::BestCheckpoint, best))
            }
        }
    }
}

/// Whether an adapter's recorded base names the job's base (`base-model`, copied with the job, is
/// recorded as whatever absolute path the trainer's machine gave it).
fn same_base(recorded: &str, reference: &str) -> bool {
    let trim = |s: &str| s.trim_end_matches('/').to_string();
    let (recorded, reference) = (trim(recorded), trim(reference));
    recorded == reference || recorded.ends_with(&format!("/{reference}"))
}

/// A decoder adapter must adapt exactly the job's modules in every layer.
fn check_decoder_targets(job: &JobManifest, adapter: &PeftAdapter, dir: &Path) -> Result<()> {
    let leaves: BTreeSet<String> = adapter
        .factors
        .keys()
        .map(|m| m.rsplit('.').next().unwrap_or(m).to_string())
        .collect();
    let wanted: BTreeSet<String> = job.targets.iter().cloned().collect();
    if leaves != wanted {
        return Err(Error::invalid(format!(
            "the adapter in {} adapts {} but the job's run adapts {}; the trainer was given other target modules (was train_config.json edited?)",
            dir.display(),
            leaves.into_iter().collect::<Vec<_>>().join(", "),
            wanted.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let local = &job.base.local_path;
    if local.is_dir() {
        let cfg = LlamaConfig::from_file(&local.join("config.json"))?;
        let expected = cfg.num_hidden_layers * wanted.len();
        if adapter.factors.len() != expected {
            return Err(Error::invalid(format!(
                "the adapter in {} has {} adapted modules; the base's {} layers x {} targets make {expected}: it was trained on another model",
                dir.display(),
                adapter.factors.len(),
                cfg.num_hidden_layers,
                wanted.len()
            )));
        }
    }
    Ok(())
}

/// A whole checkpoint must be of the base's architecture and size.
fn check_same_architecture(job: &JobManifest, dir: &Path) -> Result<()> {
    let read = |p: &Path| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(p.join("config.json")).ok()?).ok()
    };
    let (Some(theirs), Some(ours)) = (read(dir), read(&job.base.local_path)) else {
        return Ok(());
    };
    for key in ["model_type", "hidden_size", "num_hidden_layers", "vocab_size"] {
        if theirs.get(key) != ours.get(key) {
            return Err(Error::invalid(format!(
                "the model in {} has {key} = {}, the job's base has {}: it is not a fine-tune of this base",
                dir.display(),
                theirs.get(key).unwrap_or(&Value::Null),
                ours.get(key).unwrap_or(&Value::Null)
            )));
        }
    }
    Ok(())
}

/// Copies the files at the top of `from` into a new `to` (written beside it, then moved in).
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Error::invalid(format!("cannot {what} {}: {e}", p.display()))
    };
    let staging = to.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| io("create", &staging, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io("read", from, e))? {
        let path = entry.map_err(|e| io("read", from, e))?.path();
        if path.is_file() {
            if let Some(name) = path.file_name() {
                std::fs::copy(&path, staging.join(name)).map_err(|e| io("copy", &path, e))?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(to);
    std::fs::rename(&staging, to).map_err(|e| io("move into place", to, e))
}

/// The classifier's weights as the engine's best checkpoint (`w.<name>` for every trainable
/// tensor of the run's model), so prediction and evaluation restore them as a local run's.
fn classifier_checkpoint(
    run: &FoundRun,
    plan: &TrainPlan,
    job: &JobManifest,
    imported: &Imported,
) -> Result<PathBuf> {
    let dir = &imported.dir;
    let files = safetensors_in(dir);
    let weights = match &imported.adapter {
        Some(a) => TrainedWeights::Adapter(a),
        None => TrainedWeights::Files(&files),
    };
    let encoder = EncoderSession::open(plan)?;
    let task = encoder.task(plan, &job.labels, plan.backbone(), false)?;
    let best = run.folder.checkpoints().join(BEST_FILE);
    trainable_as_checkpoint(weights, dir, &task.trainable(), &best).map_err(invalid_of)?;
    Ok(best)
}
