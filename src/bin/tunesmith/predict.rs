//! `tunesmith predict`: classify one text with a trained run, printing every label's probability
//! (or one JSON object with `--json`); or, with `--data FILE --out FILE`, predict every row of a
//! data file into a new file (a progress line on stderr; the summary as JSON with `--json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tunesmith::predict_file::{PredictFileRequest, PredictFileSummary};

use crate::{output, Context};

/// The flags of `tunesmith predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// The text to classify.
    #[arg(long, required_unless_present = "data", conflicts_with = "data")]
    text: Option<String>,
    /// A data file (CSV, TSV, JSONL): every row is classified or answered.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Where to write the file with predictions (default: NAME.predicted.EXT beside --data).
    #[arg(long, value_name = "FILE", requires = "data")]
    out: Option<PathBuf>,
    /// The column to read (default: the run's own text or prompt column, else the guessed one).
    #[arg(long, value_name = "NAME", requires = "data")]
    column: Option<String>,
    /// Longest answer in tokens, for a generation run (default 128).
    #[arg(long, value_name = "N", requires = "data")]
    max_tokens: Option<usize>,
}

/// Runs `tunesmith predict`.
pub fn run(ctx: &Context, args: &PredictArgs) -> tunesmith::Result<ExitCode> {
    if let Some(data) = &args.data {
        let request = PredictFileRequest {
            run: args.run.clone(),
            data: data.clone(),
            out: args.out.clone(),
            column: args.column.clone(),
            max_tokens: args.max_tokens,
        };
        let json = ctx.json;
        let summary = tunesmith::predict_file::predict_file(&ctx.home, &request, None, &mut |p| {
            if !json {
                let pct = 100.0 * p.bytes_read as f64 / p.total_bytes.max(1) as f64;
                let eta = p
                    .eta_s
                    .map(|s| format!(", about {s:.0} s left"))
                    .unwrap_or_default();
                eprint!("\rpredicting {pct:>3.0} % ({} rows{eta})   ", p.rows);
                let _ = std::io::stderr().flush();
            }
        })?;
        if json {
            output::json_pretty(&summary);
        } else {
            eprintln!();
            print_summary(&summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let text = args.text.as_deref().unwrap_or_default();
    let p = tunesmith::predict::predict(&ctx.home, &args.run, text)?;
    if ctx.json {
        output::json_pretty(&p);
    } else {
        println!("{}", p.label);
        for l in &p.probabilities {
            println!("  {:<20} {:>6.1} %", l.label, 100.0 * l.probability);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &PredictFileSummary) {
    println!(
        "wrote {} ({} rows, {} predicted) in {:.1} s",
        s.out.display(),
        s.rows,
        s.predicted,
        s.seconds
    );
    println!("  read from   {}", s.input_columns.join(", "));
    if s.empty > 0 {
        println!("  {} rows have no prediction (see below)", s.empty);
    }
    if s.unreadable > 0 {
        println!(
            "  {} rows could not be read and are not in the output (see below)",
            s.unreadable
        );
    }
    for p in &s.problems {
        println!("  line {}: {}", p.line, p.message);
    }
    let listed = s.problems.len() as u64;
    if s.empty + s.unreadable > listed {
        println!("  ... and {} more", s.empty + s.unreadable - listed);
    }
}
