//! `job export`: a run a local `train` would make, written as a folder a distributed trainer runs
//! unchanged.
//!
//! It resolves the request exactly as `train` does ([`TrainPlan::resolve`], then the plan's data
//! with the doctor's refusal and fixes, its split and its loop settings for that many rows), so
//! the job is the same run; creates the run in the history, queued, so the job knows the id it
//! becomes; and writes the folder beside the destination first, moving it into place only once
//! every file is written (a failed export leaves no half-written job, and no queued run).

use std::path::{Path, PathBuf};

use tunesmith_data::{Dataset, SplitPlan, Task};
use tunesmith_engine::gguf::GgufFile;
use tunesmith_engine::models::llama_config::LlamaConfig;
use tunesmith_engine::train::{Method, TrainConfig, TrainTask};

use super::base::BaseModel;
use super::manifest::{
    JobManifest, JobSplit, AXOLOTL_FILE, CONFIG_FILE, FORMAT, JOB_FILE,
};
use super::request::{JobExportRequest, JobExportSummary, Trainer};
use super::settings::{self, Mapped, Resolved};
use super::{rows, templates};
use crate::session::EncoderSession;
use crate::home::Home;
use crate::run::TrainPlan;
use crate::{Error, Result};

/// The linear layers of a Llama-family decoder that get LoRA by default, as PEFT names them
/// (the engine's default: every attention and MLP projection, never the output head).
pub const DECODER_TARGETS: [&str; 7] = [
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
];

/// Writes the job `req` asks for and queues its run in the history.
pub fn export_job(home: &Home, req: &JobExportRequest) -> Result<JobExportSummary> {
    if req.trainer == Trainer::Axolotl && req.train.task == Task::Classify {
        return Err(Error::invalid(
            "Axolotl trains decoders (generation); export a classification job with --trainer trl",
        ));
    }
    if req.trainer == Trainer::Axolotl && req.train.method == Method::Features {
        return Err(Error::invalid(
            "feature extraction trains a classification head; export it with --trainer trl",
        ));
    }
    check_destination(&req.out)?;
    let mut plan = TrainPlan::resolve(&req.train, &mut |_| {})?;
    let (dataset, split) = plan.load_data()?;
    let labels = match plan.task() {
        Task::Classify => dataset.classes.clone(),
        Task::Generate => Vec::new(),
    };
    let train_rows = split.indices(0).len();
    if train_rows == 0 {
        return Err(Error::invalid(format!(
            "{} has no rows left for training after the split; add rows or lower --val-fraction/--test-fraction",
            plan.request().data.display()
        )));
    }
    // The schedule (and LoRA rank) chosen from the data, as a local run settles it.
    plan.settle(train_rows);
    let config = plan.train_config(train_rows);
    config.validate()?;
    let model = Model::inspect(&plan, &labels)?;

    let staging = staging_dir(&req.out);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| Error::invalid(format!("cannot create {}: {e}", staging.display())))?;
    let run_id = match queue_run(home, &plan, &config, &labels, &dataset, &split, req.trainer) {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let written = write_job(
        &staging, req, &plan, &config, &model, &labels, &dataset, &split, &run_id,
    )
    .and_then(|summary| {
        std::fs::rename(&staging, &req.out).map_err(|e| {
            Error::invalid(format!(
                "cannot move the job into {}: {e}",
                req.out.display()
            ))
        })?;
        Ok(summary)
    });
    match written {
        Ok(mut summary) => {
            summary.dir = req.out.clone();
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            let _ = crate::runs::delete(home, &run_id);
            Err(e)
        }
    }
}

/// What the job needs to know of the model: its context, the LoRA targets as PEFT names them,
/// the head trained beside an adapter and the chat template.
struct Model {
    max_len: usize,
    targets: Vec<String>,
    modules_to_save: Vec<String>,
    chat_template: Option<String>,
}

impl Model {
    fn inspect(plan: &TrainPlan, labels: &[String]) -> Result<Model> {
        match plan.task() {
            Task::Generate => {
                let context = if plan.model().is_file() {
                    let mut file = GgufFile::open(plan.model())?;
                    tunesmith_engine::gguf::config::llama_config(&mut file)?
                        .0
                        .max_position_embeddings
                } else {
                    LlamaConfig::from_file(&plan.model().join("config.json"))?
                        .max_position_embeddings
                };
                let targets = if plan.lora().target_modules.is_empty() {
                    DECODER_TARGETS.iter().map(|s| s.to_string()).collect()
                } else {
                    plan.lora().target_modules.clone()
                };
                Ok(Model {
                    max_len: plan.max_len(context),
                    targets,
                    modules_to_save: Vec::new(),
                    chat_template: Some(chat_template(plan.model())?),
                })
            }
            Task::Classify => {
                // The exact modules a local run adapts and trains whole: the encoder built as the
                // run builds it (small models; the classification path loads BERT-family encoders).
                let encoder = EncoderSession::open(plan)?;
                let task = encoder.task(plan, labels, plan.backbone(), false)?;
                let mut targets = Vec::new();
                let mut heads = Vec::new();
                for (name, _) in task.trainable() {
                    if let Some(m) = name.strip_suffix(".lora_A.weight") {
                        targets.push(m.to_string());
                    } else if !name.contains(".lora_B.") {
                        let top = name.split('.').next().unwrap_or(&name).to_string();
                        if !heads.contains(&top) {
                            heads.push(top);
                        }
                    }
                }
                targets.sort();
                heads.sort();
                let lora = matches!(plan.method(), Method::Lora | Method::Qlora);
                Ok(Model {
                    max_len: encoder.max_len,
                    targets: if lora { targets } else { Vec::new() },
                    modules_to_save: if lora { heads } else { Vec::new() },
                    chat_template: None,
                })
            }
        }
    }
}

/// The chat template a local run renders rows with: the model's own (its `tokenizer_config.json`'s
/// or the GGUF's), else Tunesmith's plain one.
fn chat_template(model: &Path) -> Result<String> {
    let own = if model.is_file() {
        GgufFile::open(model)?.string("tokenizer.chat_template").ok()
    } else {
        tunesmith_data::tokenizer_config::read(model)?.and_then(|c| c.chat_template)
    };
    Ok(own.unwrap_or_else(|| crate::session::PLAIN_TEMPLATE.to_string()))
}

fn check_destination(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(Error::invalid(format!(
                "{} already exists and is not empty; choose a new folder for the job (--out)",
                out.display()
            )));
        }
        std::fs::remove_dir(out)
            .map_err(|e| Error::invalid(format!("cannot use {}: {e}", out.display())))?;
    }
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => Err(Error::invalid(format!(
            "the folder {} does not exist; create it or choose another place for the job",
            p.display()
        ))),
        _ => Ok(()),
    }
}

fn staging_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "job".into());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Creates the job's run in the history (queued) from the same manifest a local run records, and
/// writes its `run.json`.
fn queue_run(
    home: &Home,
    plan: &TrainPlan,
    config: &TrainConfig,
    labels: &[String],
    dataset: &Dataset,
    split: &SplitPlan,
    trainer: Trainer,
) -> Result<String> {
    let sizes = [
        split.indices(0).len(),
        split.indices(1).len(),
        split.indices(2).len(),
    ];
    let mut manifest = plan.manifest(
        config,
        labels.to_vec(),
        dataset,
        split,
        sizes,
        format!("elsewhere ({})", trainer.as_str()),
    );
    let mut new_run = manifest.new_run(primary_metric(plan.task()), None)?;
    new_run.name = Some(format!(
        "{}-{} ({})",
        settings::task_name(plan.task()),
        plan.method(),
        trainer.as_str()
    ));
    let store = crate::runs::open_store(home)?;
    let created = store.create_run(&new_run)?;
    manifest.run_id = created.id.clone();
    if let Err(e) = manifest.write(&store.run_dir(&created.id)) {
        let _ = store.delete_run(&created.id);
        return Err(e);
    }
    Ok(created.id)
}

/// The metric that ranks a run of `task`, as a local run records it.
pub(crate) fn primary_metric(task: Task) -> tunesmith_store::PrimaryMetric {
    match task {
        Task::Classify => tunesmith_store::PrimaryMetric {
            name: "accuracy".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Max,
        },
        Task::Generate => tunesmith_store::PrimaryMetric {
            name: "perplexity".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Min,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn write_job(
    dir: &Path,
    req: &JobExportRequest,
    plan: &TrainPlan,
    config: &TrainConfig,
    model: &Model,
    labels: &[String],
    dataset: &Dataset,
    split: &SplitPlan,
    run_id: &str,
) -> Result<JobExportSummary> {
    let base = BaseModel::identify(plan.model(), dir)?;
    let written = rows::write_rows(dir, dataset, split)?;
    let resolved = Resolved {
        request: plan.request(),
        config,
        lora: plan.lora(),
        max_len: model.max_len,
        base_model: base.reference.clone(),
        base_revision: base.revision.clone(),
        targets: model.targets.clone(),
        train_rows: written.train,
        has_validation: written.validation > 0,
        chat_template: model.chat_template.clone(),
        labels: labels.to_vec(),
        modules_to_save: model.modules_to_save.clone(),
    };
    let entries = settings::entries(&resolved);
    let trainer_config = settings::config_object(&entries, req.trainer);
    let mut files = written.files.clone();
    let put = |files: &mut Vec<String>, name: &str, text: &str| -> Result<()> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::invalid(format!("cannot create {}: {e}", parent.display())))?;
        }
        tunesmith_engine::train::checkpoint::write_atomic(&path, text.as_bytes())?;
        files.push(name.to_string());
        Ok(())
    };
    let (config_file, config_text, launch_target) = match req.trainer {
        Trainer::Trl => {
            let text = serde_json::to_string_pretty(&trainer_config)
                .map_err(|e| Error::invalid(format!("cannot write the trainer's config: {e}")))?;
            (CONFIG_FILE, text + "\n", "train.py")
        }
        Trainer::Axolotl => (
            AXOLOTL_FILE,
            templates::axolotl_yaml(run_id, &trainer_config, written.validation > 0),
            "-m axolotl.cli.train axolotl.yaml",
        ),
    };
    put(&mut files, config_file, &config_text)?;
    if req.trainer == Trainer::Trl {
        let script = match plan.task() {
            Task::Generate => templates::TRAIN_GENERATE,
            Task::Classify => templates::TRAIN_CLASSIFY,
        };
        put(&mut files, "train.py", script)?;
    }
    for (name, text) in templates::ACCELERATE {
        put(&mut files, name, text)?;
    }
    put(
        &mut files,
        "slurm.sbatch",
        &templates::render(
            templates::SLURM,
            &[
                ("run_id", run_id.to_string()),
                ("launch_target", launch_target.to_string()),
            ],
        ),
    )?;
    let sizes = [
        split.indices(0).len(),
        split.indices(1).len(),
        split.indices(2).len(),
    ];
    let manifest = JobManifest {
        format: FORMAT,
        tunesmith_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.to_string(),
        trainer: req.trainer,
        base: base.clone(),
        request: plan.request().clone(),
        config: config.clone(),
        lora: plan.lora().clone(),
        targets: model.targets.clone(),
        modules_to_save: model.modules_to_save.clone(),
        max_len: model.max_len,
        labels: labels.to_vec(),
        data_fingerprint: dataset.fingerprint().to_string(),
        split: JobSplit {
            seed: split.seed,
            fingerprint: split.fingerprint.clone(),
            fractions: split.fractions.clone(),
            sizes,
        },
        schedule: plan.schedule().cloned(),
        config_sha256: format!(
            "sha256:{}",
            tunesmith_hub::download::sha256_file(&dir.join(config_file))?
        ),
    };
    let job_json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::invalid(format!("cannot write the job manifest: {e}")))?;
    put(&mut files, JOB_FILE, &(job_json + "\n"))?;
    let launch = launch_commands(req.trainer, run_id);
    if !base.files.is_empty() {
        files.push(format!("{}/ ({} files)", super::base::BASE_DIR, base.files.len()));
    }
    files.push("README.md".into());
    let readme = readme(
        req.trainer, plan, config, &base, &manifest, &entries, &files, &launch,
    );
    put(&mut Vec::new(), "README.md", &readme)?;
    Ok(JobExportSummary {
        run_id: run_id.to_string(),
        dir: dir.to_path_buf(),
        trainer: req.trainer,
        train_rows: written.train,
        validation_rows: written.validation,
        base_model: base.reference,
        files,
        launch: match req.trainer {
            Trainer::Trl => "accelerate launch --config_file accelerate/multi_gpu.yaml --num_processes 8 train.py".into(),
            Trainer::Axolotl => "axolotl train axolotl.yaml".into(),
        },
    })
}

/// The README's launch section.
fn launch_commands(trainer: Trainer, run_id: &str) -> String {
    match trainer {
        Trainer::Trl => format!(
            "```sh\n\
# one GPU\n\
accelerate launch --config_file accelerate/single_gpu.yaml train.py\n\
# the GPUs of one machine, data parallel (DDP): --num_processes = the number of GPUs\n\
accelerate launch --config_file accelerate/multi_gpu.yaml --num_processes 8 train.py\n\
# DeepSpeed ZeRO-3 on one machine (pip install deepspeed)\n\
accelerate launch --config_file accelerate/deepspeed_zero3.yaml --num_processes 8 train.py\n\
# several nodes, the model sharded (FSDP): on every node, with that node's rank\n\
accelerate launch --config_file accelerate/multi_node_fsdp.yaml --num_machines 2 --num_processes 16 \\\n  --machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 train.py\n\
# several nodes with torchrun (DDP): on every node\n\
torchrun --nnodes 2 --nproc_per_node 8 --rdzv_id {run_id} --rdzv_backend c10d \\\n  --rdzv_endpoint $MASTER_ADDR:29500 train.py\n\
# a Slurm cluster (edit the #SBATCH lines for your nodes and GPUs)\n\
sbatch slurm.sbatch\n\
# a dry run on a machine without GPUs: two processes over gloo (accelerate's --cpu flag alone\n\
# starts one process unless MPI is set up; without a GPU the script joins the processes on the CPU)\n\
accelerate launch --multi_gpu --num_processes 2 train.py\n\
```"
        ),
        Trainer::Axolotl => format!(
            "```sh\n\
# one machine, every GPU\n\
axolotl train axolotl.yaml\n\
# several nodes with torchrun: on every node\n\
torchrun --nnodes 2 --nproc_per_node 8 --rdzv_id {run_id} --rdzv_backend c10d \\\n  --rdzv_endpoint $MASTER_ADDR:29500 -m axolotl.cli.train axolotl.yaml\n\
# several nodes, FSDP through accelerate: on every node, with that node's rank\n\
accelerate launch --config_file accelerate/multi_node_fsdp.yaml --num_machines 2 --num_processes 16 \\\n  --machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 -m axolotl.cli.train axolotl.yaml\n\
# a Slurm cluster (edit the #SBATCH lines for your nodes and GPUs)\n\
sbatch slurm.sbatch\n\
```\n\n\
Axolotl's `micro_batch_size` is per GPU: with N GPUs, set it to the run's batch divided by N so\n\
the global batch stays the run's."
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn readme(
    trainer: Trainer,
    plan: &TrainPlan,
    config: &TrainConfig,
    base: &BaseModel,
    manifest: &JobManifest,
    entries: &[settings::Entry],
    files: &[String],
    launch: &str,
) -> String {
    let trainer_name = match trainer {
        Trainer::Trl => "TRL / transformers",
        Trainer::Axolotl => "Axolotl",
    };
    let install = match (trainer, plan.method()) {
        (Trainer::Trl, Method::Qlora) => {
            "pip install torch transformers peft trl accelerate datasets bitsandbytes"
        }
        (Trainer::Trl, _) => "pip install torch transformers peft trl accelerate datasets",
        (Trainer::Axolotl, _) => "pip install axolotl",
    };
    let settings_rows: Vec<String> = entries
        .iter()
        .map(|e| {
            let how = match e.for_trainer(trainer) {
                Mapped::To(pairs) => pairs
                    .iter()
                    .map(|(k, v)| {
                        let v = v.to_string();
                        let v = if v.len() > 60 { format!("{}...", &v[..v.char_indices().nth(57).map_or(v.len(), |(i, _)| i)]) } else { v };
                        format!("`{k}` = `{}`", v.replace('|', "\\|").replace('`', "'"))
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                Mapped::Applied(why) => format!("applied by Tunesmith: {why}"),
                Mapped::Resolved(via) => format!("through `{via}`"),
                Mapped::Unsupported(why) => format!("**not supported**: {why}"),
            };
            let value = e.value.to_string();
            let value = if value.len() > 40 { "(see the config)".to_string() } else { value.replace('|', "\\|") };
            format!("| `{}` | `{}` | {} |", e.setting, value, how)
        })
        .collect();
    let files_list: Vec<String> = files.iter().map(|f| format!("- `{f}`")).collect();
    let config_file = match trainer {
        Trainer::Trl => CONFIG_FILE,
        Trainer::Axolotl => AXOLOTL_FILE,
    };
    templates::render(
        templates::README,
        &[
            ("run_id", manifest.run_id.clone()),
            ("trainer_name", trainer_name.into()),
            ("task", settings::task_name(plan.task()).into()),
            ("method", plan.method().to_string()),
            ("base_model", base.reference.clone()),
            (
                "base_revision",
                base.revision
                    .as_ref()
                    .map(|r| format!("at revision `{r}`"))
                    .unwrap_or_default(),
            ),
            ("base_found_in", base.found_in.clone()),
            ("train_rows", manifest.split.sizes[0].to_string()),
            ("validation_rows", manifest.split.sizes[1].to_string()),
            ("test_rows", manifest.split.sizes[2].to_string()),
            ("fingerprint", manifest.data_fingerprint.clone()),
            ("split_seed", manifest.split.seed.to_string()),
            ("split_fractions", format!("{:?}", manifest.split.fractions)),
            ("split_fingerprint", manifest.split.fingerprint.clone()),
            ("version", manifest.tunesmith_version.clone()),
            ("files", files_list.join("\n")),
            ("install", install.into()),
            ("launch", launch.into()),
            ("batch", config.batch_size.to_string()),
            ("dir_hint", "path/to/this-folder".into()),
            ("config_file", config_file.into()),
            ("settings", settings_rows.join("\n")),
        ],
    )
}
