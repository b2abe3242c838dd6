//! `tunesmith errors`: a classification run's wrong and least-sure test rows (text, label,
//! prediction, confidence, the doctor's duplicate/conflict marks); with `--relabel LINE=LABEL` or
//! `--leave-out LINE`, a corrected copy of the data written beside the original (never the original
//! itself); with `--retrain`, the run's settings trained on that copy as a new, linked run.

use std::process::ExitCode;

use clap::Args;
use tunesmith::errors_report::{Corrections, ErrorsReport, Relabel};

use crate::{output, Context};

/// The flags of `tunesmith errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// Give the row starting on LINE the label LABEL in a corrected copy (repeatable).
    #[arg(long, value_name = "LINE=LABEL", value_parser = parse_relabel)]
    relabel: Vec<Relabel>,
    /// Leave the row starting on LINE out of the corrected copy (repeatable).
    #[arg(long, value_name = "LINE")]
    leave_out: Vec<u64>,
    /// Then train the run's settings on the corrected copy, as a new run linked to this one.
    #[arg(long)]
    retrain: bool,
}

fn parse_relabel(s: &str) -> Result<Relabel, String> {
    let (line, label) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: write LINE=LABEL, for example 12=positive"))?;
    let line = line
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("`{line}` is not a line number (from `tunesmith errors`)"))?;
    Ok(Relabel {
        line,
        label: label.trim().to_string(),
    })
}

/// Runs `tunesmith errors`.
pub fn run(ctx: &Context, args: &ErrorsArgs) -> tunesmith::Result<ExitCode> {
    if args.relabel.is_empty() && args.leave_out.is_empty() {
        if args.retrain {
            return Err(tunesmith::Error::invalid(
                "--retrain trains on a corrected copy: give --relabel LINE=LABEL or --leave-out LINE too",
            ));
        }
        let report = tunesmith::errors_report::errors(&ctx.home, &args.run)?;
        if ctx.json {
            output::json_pretty(&report);
        } else {
            print_report(&report);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let corrections = Corrections {
        relabel: args.relabel.clone(),
        leave_out: args.leave_out.clone(),
    };
    let copy = tunesmith::errors_report::correct(&ctx.home, &args.run, &corrections)?;
    if !args.retrain {
        if ctx.json {
            output::json_pretty(&copy);
        } else {
            println!(
                "wrote {} ({} rows: {} relabelled, {} left out); {} is unchanged",
                copy.copy.display(),
                copy.rows,
                copy.relabelled,
                copy.left_out,
                copy.original.display()
            );
            println!(
                "retrain on it: tunesmith train ... --data {}  (or add --retrain here)",
                copy.copy.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let json = ctx.json;
    let summary = tunesmith::errors_report::retrain(
        &ctx.home,
        &args.run,
        &copy.copy,
        tunesmith::train::CancelHandle::new(),
        &mut |e| {
            if json {
                output::json_line(e);
            }
        },
    )?;
    if json {
        output::json_line(&serde_json::json!({ "corrected": copy, "retrained": summary }));
    } else {
        println!(
            "wrote {}; retrained as run {} ({:?}), linked to run {}",
            copy.copy.display(),
            summary.run_id,
            summary.status,
            copy.run_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &ErrorsReport) {
    println!(
        "run {}: {} of {} test rows wrong ({}, label column `{}`)",
        r.run_id,
        r.wrong,
        r.test_rows,
        r.data.display(),
        r.label_column
    );
    println!(
        "{:>6}  {:<12} {:<12} {:>6}  {:<9} text",
        "line", "label", "predicted", "sure", "data"
    );
    for (i, row) in r.rows.iter().enumerate() {
        if i == r.wrong {
            println!("-- right, but least sure --");
        }
        let flags: Vec<&str> = row
            .flags
            .iter()
            .map(|f| match f {
                tunesmith::errors_report::RowFlag::Duplicate => "duplicate",
                tunesmith::errors_report::RowFlag::Conflict => "conflict",
            })
            .collect();
        let text: String = row.text.chars().take(60).collect();
        println!(
            "{:>6}  {:<12} {:<12} {:>5.0}%  {:<9} {}",
            row.line,
            row.label,
            row.prediction,
            100.0 * row.confidence,
            flags.join(","),
            text.replace('\n', " ")
        );
    }
    println!(
        "\ncorrect: tunesmith errors --run {} --relabel LINE=LABEL --leave-out LINE [--retrain]",
        r.run_id
    );
}
