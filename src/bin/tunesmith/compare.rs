//! `tunesmith compare`: a question set with reference answers, answered by base, fine-tuned,
//! base + RAG and fine-tuned + RAG (those available), scored, with a verdict.
//!
//! Text mode prints progress on stderr, then the table and the verdict; `--json` prints the whole
//! report (per-configuration scores, per-question answers, the verdict) as one object.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use tunesmith::chat::DEFAULT_PASSAGES;
use tunesmith::compare::{CompareArgs, CompareProgress, CompareRequest};
use tunesmith::compare_quick::QUICK_QUESTIONS;

use crate::{output, Context};

/// `tunesmith compare ...`: the flags, mapped onto the facade's [`CompareArgs`] (the app's form),
/// whose defaults the facade applies.
#[derive(Debug, Args)]
pub struct CompareFlags {
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
    #[arg(long = "top-k", default_value_t = DEFAULT_PASSAGES as u32)]
    top_k: u32,
    /// The longest answer, in tokens (default: the 95th percentile of the training answers' length,
    /// or of the reference answers' without a run, between 24 and 256).
    #[arg(long = "max-tokens")]
    max_tokens: Option<u32>,
    /// Answer at most this many questions, spread over the set.
    #[arg(long = "max-questions", conflicts_with = "quick")]
    max_questions: Option<u32>,
    /// A quick check: answer only a few questions spread over the set (see --max-questions).
    #[arg(long)]
    quick: bool,
    /// A system prompt for every answer (default: the model's own).
    #[arg(long)]
    system: Option<String>,
}

/// Runs `tunesmith compare`.
pub fn run(ctx: &Context, args: &CompareFlags) -> tunesmith::Result<ExitCode> {
    let request: CompareRequest = CompareArgs {
        questions: args.questions.clone(),
        model: args.model.clone(),
        run: args.run.clone(),
        rag: args.rag.clone(),
        passages: Some(args.top_k),
        max_tokens: args.max_tokens,
        max_questions: args
            .max_questions
            .or(args.quick.then_some(QUICK_QUESTIONS as u32)),
        system: args.system.clone(),
    }
    .into();
    let mut stderr = std::io::stderr();
    let started = Instant::now();
    let report = tunesmith::compare::compare(&ctx.home, &request, None, &mut |p| match p {
        CompareProgress::Loading { configuration } => {
            let _ = writeln!(stderr, "loading the model for {}", configuration.label());
        }
        CompareProgress::Answered {
            configuration,
            question,
            of,
            answered,
            total,
        } => {
            let _ = write!(
                stderr,
                "\r{}: {question}/{of} answered; {answered} of {total} answers{}   ",
                configuration.label(),
                time_left(started.elapsed().as_secs_f64(), *answered, *total)
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
    let quick = if report.questions.len() < report.questions_in_file {
        format!(" (a quick check: of {})", report.questions_in_file)
    } else {
        String::new()
    };
    println!(
        "{} questions{quick} from {}; model {}{}{}",
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
    println!(
        "Answers up to {} tokens: {}.",
        report.answer_length.max_tokens, report.answer_length.basis
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

/// "; about 3 min left" from the pace so far (model loading included, as it recurs per model),
/// empty before the first answer and after the last.
fn time_left(elapsed_s: f64, answered: usize, total: usize) -> String {
    if answered == 0 || answered >= total {
        return String::new();
    }
    let left = elapsed_s / answered as f64 * (total - answered) as f64;
    if left < 60.0 {
        format!("; about {} s left", (left / 5.0).ceil().max(1.0) as u64 * 5)
    } else {
        format!("; about {} min left", (left / 60.0).round() as u64)
    }
}
