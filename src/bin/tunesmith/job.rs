//! `tunesmith job export|import`: hand a run to a distributed trainer (TRL / transformers on
//! Accelerate, or Axolotl) and bring its result back into the history. `export` takes every
//! option `train` takes; with `--json`, each prints one object.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use tunesmith::job::{JobExportRequest, Trainer};

use crate::{output, Context};

/// The flags of `tunesmith job`.
#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(Debug, Subcommand)]
enum JobCommand {
    /// Write the run `train` would make as a folder a distributed trainer runs (queued in the history).
    Export(ExportArgs),
    /// Bring a job's trained weights and loss curve back as its run in the history.
    Import(ImportArgs),
}

/// `job export`: the train options, the trainer and the folder.
#[derive(Debug, Args)]
struct ExportArgs {
    /// The run's settings, exactly as `tunesmith train` takes them.
    #[command(flatten)]
    train: crate::train::TrainArgs,
    /// The trainer that will run the job.
    #[arg(long, value_enum)]
    trainer: TrainerArg,
    /// A new (or empty) folder for the job.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TrainerArg {
    Trl,
    Axolotl,
}

/// `job import DIR`.
#[derive(Debug, Args)]
struct ImportArgs {
    /// The job folder, with the trainer's output/ copied back into it.
    dir: PathBuf,
}

/// Runs `tunesmith job ...`.
pub fn run(ctx: &Context, args: &JobArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        JobCommand::Export(a) => {
            let req = JobExportRequest {
                train: a.train.request(),
                trainer: match a.trainer {
                    TrainerArg::Trl => Trainer::Trl,
                    TrainerArg::Axolotl => Trainer::Axolotl,
                },
                out: a.out.clone(),
            };
            let s = tunesmith::job::export_job(&ctx.home, &req)?;
            if ctx.json {
                output::json_pretty(&s);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "job for run {} written to {} ({} training rows, {} validation rows, base {})",
                s.run_id,
                s.dir.display(),
                s.train_rows,
                s.validation_rows,
                s.base_model
            );
            println!("launch it from that folder, e.g.: {}", s.launch);
            println!("its README.md has every launch command and what to copy back; then:");
            println!("  tunesmith job import {}", s.dir.display());
        }
        JobCommand::Import(a) => {
            let s = tunesmith::job::import_job(&ctx.home, &a.dir)?;
            if ctx.json {
                output::json_pretty(&s);
                return Ok(ExitCode::SUCCESS);
            }
            let m: Vec<String> = s.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            println!(
                "imported run {} ({}, {} steps, {} loss points{}) into {}",
                s.run_id,
                s.kind,
                s.steps,
                s.loss_points,
                s.world_size
                    .map(|n| format!(", {n} processes"))
                    .unwrap_or_default(),
                s.dir.display()
            );
            if !m.is_empty() {
                println!("last validation: {}", m.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
