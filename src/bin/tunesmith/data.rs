//! `tunesmith data inspect`: the data doctor's report on a dataset file, for people or (`--json`)
//! for machines. Exit status 0 when the data is usable (warnings allowed), 2 when it is not, with
//! the reasons on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tunesmith::data::{InspectReport, InspectRequest, Progress, Task};

use crate::fix_flags::FixFlags;
use crate::Context;

/// `tunesmith data ...`
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Read a CSV/TSV/JSONL/TXT file and report what training would make of it: column roles,
    /// label balance, duplicates, conflicts, empty cells, token lengths, personal data, the split.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// The dataset file.
    file: PathBuf,
    /// What the model should learn: classify (text -> label) or generate (prompt -> response).
    #[arg(long, value_name = "classify|generate")]
    task: Option<Task>,
    /// The column(s) holding the text (for generation: the prompt); repeat or list several.
    #[arg(long = "text-column", value_name = "C", num_args = 1..)]
    text_columns: Vec<String>,
    /// The column holding the labels.
    #[arg(long = "label-column", value_name = "C")]
    label_column: Option<String>,
    /// The column holding the responses (generation).
    #[arg(long = "response-column", value_name = "C")]
    response_column: Option<String>,
    /// The maximum length in tokens (default: the model's context, else 512).
    #[arg(long = "max-len", value_name = "N")]
    max_len: Option<u32>,
    /// The model whose tokenizer counts tokens: a folder, a tokenizer.json, or a cached hub id.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Keep rows with the same value of this column in the same split.
    #[arg(long = "group-column", value_name = "C")]
    group_column: Option<String>,
    /// The split's seed.
    #[arg(long, default_value_t = tunesmith::run::DEFAULT_SEED)]
    seed: u64,
    /// The doctor's fixes.
    #[command(flatten)]
    fixes: FixFlags,
}

/// Runs `tunesmith data ...`.
pub fn run(ctx: &Context, args: &DataArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        DataCommand::Inspect(a) => inspect(ctx, a),
    }
}

fn inspect(ctx: &Context, a: &InspectArgs) -> tunesmith::Result<ExitCode> {
    let mut text_columns = a.text_columns.iter().cloned();
    let request = InspectRequest {
        model: a.model.clone(),
        task: a.task,
        text_column: text_columns.next(),
        more_text_columns: Some(text_columns.collect()),
        label_column: a.label_column.clone(),
        response_column: a.response_column.clone(),
        max_len: a.max_len,
        seed: Some(a.seed),
        group_column: a.group_column.clone(),
        fixes: Some(a.fixes.fixes()),
        ..InspectRequest::new(a.file.clone())
    }
    .into_data_request();

    let show_progress = !ctx.json
        && std::fs::metadata(&a.file)
            .map(|m| m.len() > 32 << 20)
            .unwrap_or(false);
    let mut on_progress = |p: Progress| {
        if show_progress {
            eprint!(
                "\rreading {:>3.0} % ({} rows)",
                100.0 * p.bytes_read as f64 / p.total_bytes.max(1) as f64,
                p.rows
            );
            let _ = std::io::stderr().flush();
        }
    };
    let report = tunesmith::data::inspect(&request, &mut on_progress)?;
    if show_progress {
        eprintln!();
    }
    // Written with errors ignored: a closed pipe (`| head`) must not turn into a panic's exit 101.
    let text = if ctx.json {
        serde_json::to_string_pretty(&report)
            .unwrap_or_else(|e| format!("{{\"error\": \"could not serialise the report: {e}\"}}"))
    } else {
        render_report(&report)
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    if report.is_usable() {
        Ok(ExitCode::SUCCESS)
    } else {
        for reason in tunesmith::data::unusable_reasons(&report) {
            eprintln!("error: {reason}");
        }
        eprintln!(
            "error: {} cannot be used for training until the errors above are fixed",
            report.file
        );
        Ok(ExitCode::from(2))
    }
}

fn render_report(r: &InspectReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("{}", r.file));
    line(format!(
        "  format      {} ({}{})",
        r.format,
        r.encoding,
        if r.has_header {
            ", header"
        } else {
            ", no header"
        }
    ));
    line(format!(
        "  task        {}",
        serde_json::to_value(r.task)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    ));
    line(format!(
        "  rows        {} read, {} usable",
        r.rows, r.usable_rows
    ));
    let columns: Vec<String> = r
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} = {}",
                c.name,
                serde_json::to_value(c.role)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        })
        .collect();
    line(format!("  columns     {}", columns.join(", ")));
    if !r.label_counts.is_empty() {
        let total: u64 = r.label_counts.values().sum();
        let labels: Vec<String> = r
            .label_counts
            .iter()
            .map(|(l, n)| {
                format!(
                    "{l}: {n} ({:.1} %)",
                    100.0 * *n as f64 / total.max(1) as f64
                )
            })
            .collect();
        line(format!("  labels      {}", labels.join(", ")));
    }
    line(format!(
        "  duplicates  {} exact, {} near, {} conflicting, {} empty",
        r.duplicates, r.near_duplicates, r.conflicts, r.empty
    ));
    let l = &r.length;
    line(format!(
        "  tokens      min {}, median {}, p95 {}, max {} ({}); {} over max length {}",
        l.min, l.median, l.p95, l.max, l.method, l.truncated, l.max_len
    ));
    line(format!(
        "  split       train {}, validation {}, test {} (seed {})",
        r.split.train, r.split.validation, r.split.test, r.split.seed
    ));
    line(format!("  fingerprint {}", r.fingerprint));
    for (title, findings) in [("errors", &r.errors), ("warnings", &r.warnings)] {
        if findings.is_empty() {
            continue;
        }
        line(format!("{title}:"));
        for f in findings {
            line(format!("  - {}", f.message));
            line(format!("    why: {}", f.why));
            if let Some(fix) = &f.fix {
                line(format!("    fix: {fix}"));
            }
            if !f.rows.is_empty() {
                let rows: Vec<String> = f.rows.iter().map(|x| x.to_string()).collect();
                line(format!(
                    "    lines: {}{}",
                    rows.join(", "),
                    if f.count > f.rows.len() as u64 {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    if r.errors.is_empty() && r.warnings.is_empty() {
        line("no problems found".to_string());
    }
    out.pop();
    out
}
