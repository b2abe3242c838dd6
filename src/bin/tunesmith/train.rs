//! `tunesmith train`: fine-tune a model on a data file, printing progress (or one JSON object per
//! event with `--json`, ending with the `finished` event).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tunesmith::train::{RunEvent, TrainRequest};
use tunesmith_engine::train::{CancelHandle, TrainEvent};

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
    #[arg(long, default_value = "classify")]
    task: String,
    /// full, features, lora or qlora.
    #[arg(long, default_value = "lora")]
    method: String,
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
    /// Passes over the training rows (default: by data size).
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate (default: by method).
    #[arg(long)]
    lr: Option<f64>,
    /// Rows per step (default 16).
    #[arg(long)]
    batch: Option<usize>,
    /// Longest input in tokens (default 128).
    #[arg(long)]
    max_len: Option<usize>,
    /// Seed of the split, the order and the initialisation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// LoRA rank (default 8).
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA alpha (default 16).
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// Fraction of rows for validation.
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Fraction of rows held out for testing.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Write a resumable checkpoint every N steps (default: at the end of each epoch).
    #[arg(long)]
    checkpoint_every: Option<usize>,
}

/// Runs `tunesmith train`.
pub fn run(ctx: &Context, args: &TrainArgs) -> tunesmith::Result<ExitCode> {
    let bad = |m: String| tunesmith::Error::Engine(tunesmith_engine::EngineError::Invalid(m));
    // A hub id not yet downloaded is pulled here with a progress bar (the library would pull it
    // silently); a path or a cached id resolves at once.
    let model = if ctx.json {
        args.model.clone()
    } else {
        let mut printer = crate::models::ProgressPrinter::default();
        let path = tunesmith::models::model_path(&args.model.to_string_lossy(), true, &mut |e| {
            printer.show(e)
        })?;
        printer.clear();
        path
    };
    let req = TrainRequest {
        model,
        data: args.data.clone(),
        task: args.task.parse().map_err(bad)?,
        method: args.method.parse()?,
        text_column: args.text_column.clone(),
        label_column: args.label_column.clone(),
        prompt_column: args.prompt_column.clone(),
        response_column: args.response_column.clone(),
        epochs: args.epochs,
        lr: args.lr,
        batch: args.batch,
        max_len: args.max_len,
        seed: args.seed,
        lora_rank: args.lora_rank,
        lora_alpha: args.lora_alpha,
        val_fraction: args.val_fraction,
        test_fraction: args.test_fraction,
        device: args.device.parse()?,
        checkpoint_every: args.checkpoint_every,
        fixes: args.fixes.fixes(),
    };
    let json = ctx.json;
    let summary =
        tunesmith::train::train(&ctx.home, &req, CancelHandle::new(), &mut |e: &RunEvent| {
            if json {
                output::json_line(e);
            } else {
                print_human(e);
            }
        })?;
    if !json {
        println!(
            "run {} ({:?}) in {}",
            summary.run_id,
            summary.status,
            summary.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one event for people (progress on stderr, milestones on stdout).
pub fn print_human(e: &RunEvent) {
    match &e.event {
        TrainEvent::Started { total_steps, train_examples, val_examples, trainable_params, .. } => println!(
            "training {}: {train_examples} rows ({val_examples} for validation), {total_steps} steps, {trainable_params} trainable parameters",
            e.run_id
        ),
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
