//! `tunesmith eval`: the fine-tuned model against the base on a run's held-out test split (or on
//! another file), as a readable table or one JSON object (`--json`): accuracy, F1 and the
//! confusion matrix for a classification run, response loss and perplexity for a generation run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use tunesmith::eval::{Evaluation, GenerationEvalReport};
use tunesmith::forgetting::ForgettingReport;
use tunesmith_engine::metrics::ClassificationReport;

use crate::{output, Context};

/// The flags of `tunesmith eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// Evaluate on every row of this file instead of the run's test split.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Also check what a generation run forgot: the base and the fine-tuned model answer short
    /// general questions and read a general text ("kept N of M general answers; general-text
    /// perplexity X -> Y").
    #[arg(long)]
    forgetting: bool,
    /// The forgetting check's questions from this file (JSONL or CSV with question and answer;
    /// several accepted answers separated by `|`) instead of the built-in general set.
    #[arg(long, requires = "forgetting")]
    probes: Option<PathBuf>,
}

/// The evaluation with the forgetting check beside it, as `--json` prints it.
#[derive(Serialize)]
struct WithForgetting<'a> {
    #[serde(flatten)]
    evaluation: &'a Evaluation,
    forgetting: &'a ForgettingReport,
}

/// Runs `tunesmith eval`.
pub fn run(ctx: &Context, args: &EvalArgs) -> tunesmith::Result<ExitCode> {
    if args.forgetting {
        // Refused before anything is evaluated: a classification run has no check to add, and a
        // bad probe file is named before minutes of evaluation.
        let run = tunesmith::run::find_run(&ctx.home, &args.run)?;
        if run.task() != tunesmith::data::Task::Generate {
            return Err(tunesmith::Error::invalid(format!(
                "run {}: {}; evaluate it without --forgetting",
                run.id,
                tunesmith::forgetting::CLASSIFICATION_NOTE
            )));
        }
        if let Some(file) = &args.probes {
            tunesmith::forgetting::ProbeSet::read(file)?;
        }
    }
    let evaluation = tunesmith::eval::evaluate_any(&ctx.home, &args.run, args.data.as_deref())?;
    let forgetting = if args.forgetting {
        Some(tunesmith::forgetting::check(
            &ctx.home,
            &args.run,
            args.probes.as_deref(),
        )?)
    } else {
        None
    };
    if ctx.json {
        match &forgetting {
            Some(f) => output::json_pretty(&WithForgetting {
                evaluation: &evaluation,
                forgetting: f,
            }),
            None => output::json_pretty(&evaluation),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(f) = &forgetting {
        print_forgetting(f);
    }
    let report = match evaluation {
        Evaluation::Classification(report) => report,
        Evaluation::Generation(report) => {
            print_generation(&report);
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!(
        "run {} on {} ({} rows)",
        report.run_id, report.data, report.rows
    );
    println!("{:<12} {:>10} {:>10}", "", "base", "fine-tuned");
    let (b, f) = (&report.base.report, &report.fine_tuned);
    for (name, bv, fv) in [
        ("accuracy", b.accuracy, f.accuracy),
        ("macro F1", b.macro_f1, f.macro_f1),
        ("precision", b.macro_precision, f.macro_precision),
        ("recall", b.macro_recall, f.macro_recall),
        ("loss", b.loss, f.loss),
    ] {
        println!("{name:<12} {bv:>10.4} {fv:>10.4}");
    }
    println!("note: {}", report.base.note);
    print_confusion("fine-tuned", f);
    Ok(ExitCode::SUCCESS)
}

fn print_generation(report: &GenerationEvalReport) {
    println!(
        "run {} on {} ({} rows, {} response tokens)",
        report.run_id, report.data, report.rows, report.fine_tuned.tokens
    );
    println!("{:<12} {:>10} {:>10}", "", "base", "fine-tuned");
    let (b, f) = (&report.base.report, &report.fine_tuned);
    for (name, bv, fv) in [
        ("loss", b.loss, f.loss),
        ("perplexity", b.perplexity, f.perplexity),
    ] {
        println!("{name:<12} {bv:>10.4} {fv:>10.4}");
    }
    println!("note: {}", report.base.note);
    println!("did it learn? {}", report.fact_recall.summary);
    if let Some(w) = &report.fact_recall.warning {
        println!("warning: {w}");
    }
    for (i, s) in report.samples.iter().enumerate() {
        println!("\nsample {}: {}", i + 1, s.prompt);
        println!("  reference:  {}", s.reference);
        println!("  base:       {}", s.base);
        println!("  fine-tuned: {}", s.fine_tuned);
    }
}

fn print_forgetting(f: &ForgettingReport) {
    println!("did it forget? {} ({})", f.summary, f.probes);
    for q in &f.lost {
        println!(
            "  lost: {}  base: {:?}  fine-tuned: {:?}",
            q.question, q.base_answer, q.fine_tuned_answer
        );
    }
    if let Some(w) = &f.warning {
        println!("warning: {w}");
    }
    println!();
}

fn print_confusion(title: &str, r: &ClassificationReport) {
    println!("confusion ({title}; rows = true label, columns = predicted):");
    for (label, row) in r.labels.iter().zip(&r.confusion) {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:>6}")).collect();
        println!("  {label:<16}{}", cells.join(""));
    }
}
