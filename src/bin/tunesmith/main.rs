//! The `tunesmith` command line: every action of the app, for people (readable text) and for
//! machines (`--json`). Each subcommand lives in its own module and is a thin call into the
//! `tunesmith` library.

mod chat;
mod compare;
mod data;
mod doctor;
mod errors;
mod eval;
mod explain;
mod export;
mod fix_flags;
mod job;
mod models;
mod output;
mod predict;
mod rag;
mod ratings;
mod runs;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tunesmith::home::Home;

#[derive(Debug, Parser)]
#[command(
    name = "tunesmith",
    version,
    about = "Fine-tune language models on your own machine, and see whether it helped."
)]
struct Cli {
    /// The folder holding runs, the run history and indexes (default: the OS app-data folder).
    #[arg(long, global = true, env = "TUNESMITH_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands. Each is added when it works: none pretends.
#[derive(Debug, Subcommand)]
enum Command {
    /// Show the device Tunesmith will use, its home folder and versions.
    Doctor,
    /// Check a dataset: column roles, label balance, duplicates, token lengths, personal data.
    Data(data::DataArgs),
    /// The run history: list, show, compare and delete runs.
    Runs(runs::RunsArgs),
    /// Models: search the hub, pull, list, import a folder or .gguf, estimate memory.
    Models(models::ModelsArgs),
    /// Documents for retrieval: index files and folders, query them with a question.
    Rag(rag::RagArgs),
    /// Ask a model one question (base, a fine-tuned run, with or without your documents), streamed.
    Chat(chat::ChatFlags),
    /// Score base, fine-tuned and RAG answers to a question set against reference answers, with a verdict.
    Compare(compare::CompareFlags),
    /// Blind A/B ratings of two columns' answers: rate, list, tally (win rate), export as DPO pairs.
    Ratings(ratings::RatingsArgs),
    /// Fine-tune a model on a data file.
    Train(train::TrainArgs),
    /// Score a run's fine-tuned model against the base on its held-out test rows.
    Eval(eval::EvalArgs),
    /// A classifier's wrong and least-sure test rows; correct labels into a copy and retrain on it.
    Errors(errors::ErrorsArgs),
    /// The training examples closest to a text: which of your examples an answer leans on.
    Explain(explain::ExplainArgs),
    /// Classify a text with a trained run, or predict every row of a data file into a new file.
    Predict(predict::PredictArgs),
    /// Export a generation run's model: PEFT adapter, merged safetensors, or GGUF (+ Ollama Modelfile).
    Export(export::ExportArgs),
    /// Hand a run to a distributed trainer (TRL, Axolotl) and bring the result back.
    Job(job::JobArgs),
}

/// What every subcommand receives.
pub struct Context {
    /// The resolved home folder.
    pub home: Home,
    /// Whether to print JSON.
    pub json: bool,
}

fn main() -> ExitCode {
    output::quiet_on_closed_pipe();
    let cli = Cli::parse();
    let result = Home::resolve(cli.home.as_deref()).and_then(|home| {
        let ctx = Context {
            home,
            json: cli.json,
        };
        match &cli.command {
            Command::Doctor => doctor::run(&ctx),
            Command::Data(args) => data::run(&ctx, args),
            Command::Runs(args) => runs::run(&ctx, args),
            Command::Models(args) => models::run(&ctx, args),
            Command::Rag(args) => rag::run(&ctx, args),
            Command::Chat(args) => chat::run(&ctx, args),
            Command::Compare(args) => compare::run(&ctx, args),
            Command::Ratings(args) => ratings::run(&ctx, args),
            Command::Train(args) => train::run(&ctx, args),
            Command::Eval(args) => eval::run(&ctx, args),
            Command::Errors(args) => errors::run(&ctx, args),
            Command::Explain(args) => explain::run(&ctx, args),
            Command::Predict(args) => predict::run(&ctx, args),
            Command::Export(args) => export::run(&ctx, args),
            Command::Job(args) => job::run(&ctx, args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => output::fail(&e, cli.json),
    }
}
