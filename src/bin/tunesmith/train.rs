//! `tunesmith train`: fine-tune a model on a data file, printing progress (or one JSON object per
//! event with `--json`, ending with the `finished` event).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tunesmith::run::{RunEvent, TrainPlan, TrainRequest, TrainSummary};
use tunesmith::data::Task;
use tunesmith_engine::device::DeviceRequest;
use tunesmith_engine::precision::Precision;
use tunesmith_engine::train::{CancelHandle, Method, PrepStage, TrainEvent};

use crate::{output, Context};

/// The flags of `tunesmith train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The data doctor's fixes, applied before the split (as `data inspect` showed them).
    #[command(flatten)]
    fixes: crate::fix_flags::FixFlags,
    /// A local model folder (config.json, *.safetensors, tokenizer.json), a .gguf file, or a hub id
    /// (owner/name) from the model cache, downloaded first when missing.
    #[arg(long)]
    model: PathBuf,
    /// The data file (CSV, TSV or JSONL).
    #[arg(long)]
    data: PathBuf,
    /// classify or generate.
    #[arg(long, default_value = "classify", value_name = "classify|generate")]
    task: Task,
    /// full, features, lora or qlora.
    #[arg(long, default_value = "lora", value_name = "full|features|lora|qlora")]
    method: Method,
    /// The text column (classification).
    #[arg(long)]
    text_column: Option<String>,
    /// The label column (classification).
    #[arg(long)]
    label_column: Option<String>,
    /// The prompt column (generation).
    #[arg(long)]
    prompt_column: Option<String>,
    /// The response column (generation).
    #[arg(long)]
    response_column: Option<String>,
    /// Passes over the training rows (default: chosen from the data: many for small sets, one to three for large ones).
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate (default: chosen by method and model size).
    #[arg(long)]
    lr: Option<f64>,
    /// Rows per step (default: chosen from the data).
    #[arg(long)]
    batch: Option<usize>,
    /// Longest input in tokens (default 128).
    #[arg(long)]
    max_len: Option<usize>,
    /// Seed of the split, the order and the initialisation.
    #[arg(long, default_value_t = tunesmith::run::DEFAULT_SEED)]
    seed: u64,
    /// LoRA rank (default: chosen from the data size).
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA alpha (default: twice the rank).
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// Fraction of rows for validation.
    #[arg(long, default_value_t = tunesmith::run::default_val_fraction())]
    val_fraction: f64,
    /// Fraction of rows held out for testing.
    #[arg(long, default_value_t = tunesmith::run::default_test_fraction())]
    test_fraction: f64,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda|metal")]
    device: DeviceRequest,
    /// Write a resumable checkpoint every N steps (default: at the end of each epoch).
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Number format: auto (bf16 mixed precision on a GPU, f32 on the CPU), f32, or bf16 (bf16
    /// weights and activations, f32 master weights and optimiser state).
    #[arg(long, default_value = "auto", value_name = "auto|f32|bf16")]
    precision: Precision,
    /// Activation checkpointing: recompute each block in the backward pass (far less memory,
    /// about a third slower). auto turns it on only when the run would not fit otherwise.
    #[arg(long, value_enum, default_value_t = CheckpointingArg::Auto)]
    checkpointing: CheckpointingArg,
    /// Skip the forgetting check after a generation run (the base and the fine-tuned model
    /// answering general questions; `tunesmith eval --run RUN --forgetting` runs it later).
    #[arg(long)]
    no_forgetting_check: bool,
}

/// `--checkpointing off|on|auto` (the request's [`tunesmith::run::Checkpointing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckpointingArg {
    /// Keep every block's activations (the fastest step).
    Off,
    /// Always recompute each block in the backward pass.
    On,
    /// On only when the run would not fit in the free memory otherwise.
    Auto,
}

impl From<CheckpointingArg> for tunesmith::run::Checkpointing {
    fn from(a: CheckpointingArg) -> Self {
        match a {
            CheckpointingArg::Off => tunesmith::run::Checkpointing::Off,
            CheckpointingArg::On => tunesmith::run::Checkpointing::On,
            CheckpointingArg::Auto => tunesmith::run::Checkpointing::Auto,
        }
    }
}

impl TrainArgs {
    /// The request these flags make (shared with `job export`, which takes the same options).
    pub fn request(&self) -> TrainRequest {
        TrainRequest {
            model: self.model.clone(),
            data: self.data.clone(),
            task: self.task,
            method: self.method,
            text_column: self.text_column.clone(),
            label_column: self.label_column.clone(),
            prompt_column: self.prompt_column.clone(),
            response_column: self.response_column.clone(),
            epochs: self.epochs,
            lr: self.lr,
            batch: self.batch,
            max_len: self.max_len,
            seed: self.seed,
            lora_rank: self.lora_rank,
            lora_alpha: self.lora_alpha,
            val_fraction: self.val_fraction,
            test_fraction: self.test_fraction,
            device: self.device,
            checkpoint_every: self.checkpoint_every,
            precision: self.precision,
            fixes: self.fixes.fixes(),
            checkpointing: self.checkpointing.into(),
            forgetting_check: !self.no_forgetting_check,
        }
    }
}

/// Runs `tunesmith train`.
pub fn run(ctx: &Context, args: &TrainArgs) -> tunesmith::Result<ExitCode> {
    let req = args.request();
    // The model is resolved once, here: a hub id not yet downloaded is pulled with a progress bar
    // for people (silently with --json); a path or a cached id resolves at once.
    let plan = if ctx.json {
        TrainPlan::resolve(&req, &mut |_| {})?
    } else {
        let mut printer = crate::models::ProgressPrinter::default();
        let plan = TrainPlan::resolve(&req, &mut |e| printer.show(e))?;
        printer.clear();
        plan
    };
    let json = ctx.json;
    let summary =
        tunesmith::train::start(&ctx.home, &plan, CancelHandle::new(), &mut |e: &RunEvent| {
            if json {
                output::json_line(e);
            } else {
                print_human(e);
            }
        })?;
    if !json {
        print_end(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of a training session for people: the schedule, "did it learn?", where the run is.
pub fn print_end(summary: &TrainSummary) {
    if let Some(s) = &summary.schedule {
        println!("schedule: {}", s.reason);
    }
    if let Some(f) = &summary.fact_recall {
        println!("did it learn? {}", f.summary);
        if let Some(w) = &f.warning {
            println!("warning: {w}");
            println!(
                "train longer with `tunesmith runs longer {}`",
                summary.run_id
            );
        }
    }
    if let Some(f) = &summary.forgetting {
        println!("did it forget? {}", f.summary);
        if let Some(w) = &f.warning {
            println!("warning: {w}");
        }
    }
    println!(
        "run {} ({:?}) in {}",
        summary.run_id,
        summary.status,
        summary.dir.display()
    );
}

/// Prints one event for people (progress on stderr, milestones on stdout).
pub fn print_human(e: &RunEvent) {
    match &e.event {
        // One line per stage; a counted stage updates its line until it is done.
        TrainEvent::Preparing { stage, done, total, .. } => match (done, total) {
            (Some(d), Some(t)) => {
                eprint!("\rpreparing: {} {d}/{t}", prep_words(*stage));
                if d >= t {
                    eprintln!();
                }
            }
            _ => eprintln!("preparing: {}", prep_words(*stage)),
        },
        TrainEvent::Started { total_steps, train_examples, val_examples, trainable_params, .. } => {
            println!(
                "training {}: {train_examples} rows ({val_examples} for validation), {total_steps} steps, {trainable_params} trainable parameters",
                e.run_id
            )
        }
        TrainEvent::Step { step, total_steps, loss, lr, eta, .. } => {
            eprint!("\rstep {step}/{total_steps}  loss {loss:.4}  lr {lr:.2e}  eta {eta:.0}s   ")
        }
        TrainEvent::Eval { step, metrics, best } => {
            let m: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            eprintln!();
            println!("eval at step {step}: {}{}", m.join(", "), if *best { " (best so far)" } else { "" });
        }
        TrainEvent::Checkpoint { .. } => {}
        TrainEvent::Finished { metrics, steps, .. } => {
            let m: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            println!("finished after {steps} steps: {}", m.join(", "));
        }
        TrainEvent::Cancelled { step } => println!("cancelled at step {step}; the run can be resumed"),
        TrainEvent::Failed { error } => eprintln!("\nfailed: {error}"),
    }
}

/// A preparation stage in words.
fn prep_words(stage: PrepStage) -> &'static str {
    match stage {
        PrepStage::ReadingData => "reading the data",
        PrepStage::LoadingModel => "loading the model",
        PrepStage::Tokenising => "tokenising the examples",
        PrepStage::CachingFeatures => "reading each example through the frozen model",
        PrepStage::MeasuringBase => "measuring the untouched model",
    }
}
