//! `tunesmith compare`: a question set with reference answers, answered by base, fine-tuned,
//! base + RAG and fine-tuned + RAG (those available), scored, with a verdict.
//!
//! Text mode prints progress on stderr, then the table and the verdict; `--json` prints the whole
//! report (per-configuration scores, per-question answers, the verdict) as one object.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tunesmith::chat::DEFAULT_PASSAGES;
use tunesmith::compare::{CompareProgress, CompareRequest, DEFAULT_COMPARE_MAX_TOKENS};

use crate::{output, Context};

/// `tunesmith compare ...`
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The question set: CSV, TSV or JSONL with a `question` and an `answer` (reference) column.
    #[arg(long)]
    questions: PathBuf,
    /// The base model: a folder, a .gguf file or a downloaded hub id (default with --run: the run's base).
    #[arg(long, required_unless_present = "run")]
    model: Option<String>,
    /// A fine-tuned run: adds the fine-tuned configurations, and the results are saved in its history.
    #[arg(long)]
    run: Option<String>,
    /// A document index (see `tunesmith rag index`): adds the RAG configurations.
    #[arg(long)]
    rag: Option<String>,
    /// How many passages each RAG answer reads.
    #[arg(long = "top-k", default_value_t = DEFAULT_PASSAGES)]
    top_k: usize,
    /// The longest answer, in tokens.
    #[arg(long = "max-tokens", default_value_t = DEFAULT_COMPARE_MAX_TOKENS)]
    max_tokens: usize,
    /// A system prompt for every answer (default: the model's own).
    #[arg(long)]
    system: Option<String>,
}

/// Runs `tunesmith compare`.
pub fn run(ctx: &Context, args: &CompareArgs) -> tunesmith::Result<ExitCode> {
    let request = CompareRequest {
        questions: args.questions.clone(),
        model: args.model.clone(),
        run: args.run.clone(),
        rag: args.rag.clone(),
        passages: args.top_k,
        max_tokens: args.max_tokens,
        system: args.system.clone(),
    };
    let mut stderr = std::io::stderr();
    let report = tunesmith::compare::compare(&ctx.home, &request, None, &mut |p| match p {
        CompareProgress::Loading { configuration } => {
            let _ = writeln!(stderr, "loading the model for {}", configuration.label());
        }
        CompareProgress::Answered {
            configuration,
            question,
            of,
        } => {
            let _ = write!(
                stderr,
                "\r{}: {question}/{of} answered",
                configuration.label()
            );
            if question == of {
                let _ = writeln!(stderr);
            }
        }
    })?;
    if ctx.json {
        output::json_pretty(&report);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} questions from {}; model {}{}{}",
        report.questions.len(),
        report.questions_file.display(),
        report.model,
        report
            .run
            .as_deref()
            .map(|r| format!("; run {r}"))
            .unwrap_or_default(),
        report
            .rag
            .as_deref()
            .map(|r| format!("; index {r}"))
            .unwrap_or_default(),
    );
    println!();
    println!(
        "{:<18} {:>11} {:>8} {:>7} {:>6} {:>14} {:>11} {:>9}",
        "configuration",
        "exact match",
        "token F1",
        "ROUGE-L",
        "BLEU",
        "answer tokens",
        "latency s",
        "tokens/s"
    );
    for s in &report.configurations {
        println!(
            "{:<18} {:>11.2} {:>8.2} {:>7.2} {:>6.1} {:>14.1} {:>11.2} {:>9.1}",
            s.label,
            s.exact_match,
            s.token_f1,
            s.rouge_l,
            s.bleu,
            s.mean_answer_tokens,
            s.mean_latency_s,
            s.tokens_per_s
        );
    }
    println!();
    println!("{}", report.verdict.text);
    if report.verdict.details != report.verdict.text {
        println!("In word overlap: {}", report.verdict.details);
    }
    if let Some(saved) = &report.saved {
        println!(
            "Saved in the run's history; full report: {}",
            saved.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
