//! `tunesmith runs list|show|compare|delete|recover|resume|rerun|longer`: the run history, for people (tables) and
//! machines (`--json`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;
use tunesmith::runs::RunDetails;
use tunesmith_store::clock::{format_duration, format_utc};
use tunesmith_store::{RunComparison, RunSummary};

use crate::{output, Context};

/// `tunesmith runs ...`
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: RunsCommand,
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// Every run, newest first: id, name, task, method, model, dataset, status, best metric, start, duration.
    List,
    /// One run: its config, metrics, evaluations, files and notes.
    Show {
        /// Run id, the start of it, its last six characters, or its name.
        run: String,
    },
    /// Two runs side by side: the settings that differ and their metrics.
    Compare {
        /// The first run.
        left: String,
        /// The second run.
        right: String,
    },
    /// Delete a run: its files and its history together (exports saved elsewhere are kept).
    Delete {
        /// The run.
        run: String,
    },
    /// Move a damaged history file aside (kept whole) and start a fresh one.
    Recover,
    /// Continue an interrupted (or cancelled) run from its last checkpoint, with the same settings.
    Resume {
        /// The run.
        run: String,
    },
    /// Train a finished run longer: more passes from its last checkpoint, as the same run (for a run
    /// that learned too little).
    Longer {
        /// The run.
        run: String,
        /// More epochs (default: half as many again as the run planned).
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Train a run again from the start as a new run (same settings and seed; the data file must be unchanged).
    Rerun {
        /// The run.
        run: String,
    },
}

/// Runs a `runs` subcommand.
pub fn run(ctx: &Context, args: &RunsArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        RunsCommand::List => list(ctx),
        RunsCommand::Show { run } => show(ctx, run),
        RunsCommand::Compare { left, right } => compare(ctx, left, right),
        RunsCommand::Delete { run } => delete(ctx, run),
        RunsCommand::Recover => recover(ctx),
        RunsCommand::Resume { run } => train_again(ctx, run, false),
        RunsCommand::Rerun { run } => train_again(ctx, run, true),
        RunsCommand::Longer { run, epochs } => train_longer(ctx, run, *epochs),
    }
}

fn list(ctx: &Context) -> tunesmith::Result<ExitCode> {
    let runs = tunesmith::runs::list(&ctx.home)?;
    if ctx.json {
        output::json_pretty(&runs);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("No runs yet. Start one with `tunesmith train`.");
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "ID", "NAME", "TASK", "METHOD", "MODEL", "DATASET", "STATUS", "BEST", "STARTED", "DURATION",
    ];
    let rows: Vec<Vec<String>> = runs.iter().map(list_row).collect();
    print_table(&header, &rows);
    let usage = tunesmith::runs::disk_usage(&ctx.home)?;
    println!(
        "\n{} run(s), {} on disk",
        runs.len(),
        bytes(usage.total_bytes)
    );
    let interrupted: Vec<&str> = runs
        .iter()
        .filter(|r| r.status == tunesmith_store::RunStatus::Interrupted)
        .map(|r| r.id.as_str())
        .collect();
    if !interrupted.is_empty() {
        println!(
            "Interrupted (their process stopped before finishing): {}",
            interrupted.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list_row(r: &RunSummary) -> Vec<String> {
    vec![
        r.id.clone(),
        r.name.clone(),
        r.task.clone(),
        r.method.clone(),
        r.model.clone(),
        file_name(&r.dataset),
        r.status.to_string(),
        r.best_metric
            .as_ref()
            .map(|b| format!("{} {} {}", short_split(b.split), b.name, number(b.value)))
            .unwrap_or_else(|| "-".into()),
        r.started_at.map(format_utc).unwrap_or_else(|| "-".into()),
        r.duration_ms
            .map(format_duration)
            .unwrap_or_else(|| "-".into()),
    ]
}

fn show(ctx: &Context, query: &str) -> tunesmith::Result<ExitCode> {
    let d = tunesmith::runs::show(&ctx.home, query)?;
    if ctx.json {
        output::json_pretty(&d);
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&d);
    Ok(ExitCode::SUCCESS)
}

fn print_details(d: &RunDetails) {
    let r = &d.run;
    println!("Run {}  ({})", r.id, r.name);
    let mut facts = vec![
        ("status", r.status.to_string()),
        ("task", format!("{} / {}", r.task, r.method)),
        ("model", r.model_ref.clone()),
        (
            "dataset",
            match &r.data_fingerprint {
                Some(f) => format!("{} (fingerprint {f})", r.dataset_ref),
                None => r.dataset_ref.clone(),
            },
        ),
        ("seed", r.seed.to_string()),
        ("device", r.device.clone()),
        ("created", format_utc(r.created_at)),
    ];
    if let Some(s) = r.started_at {
        facts.push(("started", format_utc(s)));
    }
    if let Some(ms) = d.duration_ms {
        facts.push(("duration", format_duration(ms)));
    }
    if let Some(e) = &r.error {
        facts.push(("reason", e.clone()));
    }
    if let Some(p) = &r.parent_run {
        facts.push(("re-run of", p.clone()));
    }
    facts.push(("disk", bytes(d.disk_bytes)));
    for (k, v) in facts {
        println!("  {k:<10} {v}");
    }
    println!("\nConfig");
    let flat = tunesmith_store::compare::flatten(&r.config);
    if flat.is_empty() {
        println!("  (empty)");
    }
    for (k, v) in flat {
        println!("  {k} = {}", value(&Some(v)));
    }
    println!("\nMetrics");
    if d.metrics.is_empty() {
        println!("  (none recorded)");
    } else {
        let rows: Vec<Vec<String>> = d
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.split.as_str().to_string(),
                    m.name.clone(),
                    m.points.to_string(),
                    m.last_step.to_string(),
                    opt_number(m.last),
                    opt_number(m.min),
                    opt_number(m.max),
                ]
            })
            .collect();
        print_table(
            &[
                "  SPLIT",
                "NAME",
                "POINTS",
                "LAST STEP",
                "LAST",
                "MIN",
                "MAX",
            ],
            &indent(rows),
        );
    }
    println!("\nEvaluations");
    if d.evaluations.is_empty() {
        println!("  (none)");
    }
    for e in &d.evaluations {
        let numbers: Vec<String> = tunesmith_store::compare::flatten(&e.metrics)
            .into_iter()
            .filter_map(|(k, v)| v.as_f64().map(|x| format!("{k}={}", number(x))))
            .collect();
        println!(
            "  {} {} ({} rows): {}",
            e.split.as_str(),
            e.model.as_str(),
            e.rows,
            numbers.join("  ")
        );
    }
    if let Some(f) = &d.forgetting {
        println!("\nDid it forget?");
        println!("  {}", f.summary);
        for q in &f.lost {
            println!("  lost: {}  (fine-tuned: {:?})", q.question, q.fine_tuned_answer);
        }
        if let Some(w) = &f.warning {
            println!("  warning: {w}");
        }
    }
    println!("\nFiles");
    if d.artefacts.is_empty() {
        println!("  (none)");
    }
    for a in &d.artefacts {
        let step = a.step.map(|s| format!("step {s}")).unwrap_or_default();
        println!(
            "  {:<16} {:<10} {:>10}  {}",
            a.kind.as_str(),
            step,
            bytes(a.size_bytes),
            a.path.display()
        );
    }
    if !d.notes.is_empty() {
        println!("\nNotes");
        for n in &d.notes {
            println!("  {}  {}", format_utc(n.created_at), n.text);
        }
    }
    if !d.outputs.is_empty() {
        println!("\nUsed after training");
        for o in &d.outputs {
            println!(
                "  {}  {:<14} {:>8} rows  {} -> {}",
                format_utc(o.created_at),
                o.kind.as_str(),
                o.rows,
                o.source.display(),
                o.path.display()
            );
        }
    }
}

fn compare(ctx: &Context, left: &str, right: &str) -> tunesmith::Result<ExitCode> {
    let c = tunesmith::runs::compare(&ctx.home, left, right)?;
    if ctx.json {
        output::json_pretty(&c);
        return Ok(ExitCode::SUCCESS);
    }
    print_comparison(&c);
    Ok(ExitCode::SUCCESS)
}

fn print_comparison(c: &RunComparison) {
    println!("Left:  {}  ({}, {})", c.left.id, c.left.name, c.left.status);
    println!(
        "Right: {}  ({}, {})",
        c.right.id, c.right.name, c.right.status
    );
    println!("\nSettings that differ");
    if c.config_differences.is_empty() {
        println!("  none: same config, model, data and seed");
    } else {
        let rows = c
            .config_differences
            .iter()
            .map(|d| vec![d.key.clone(), value(&d.left), value(&d.right)])
            .collect();
        print_table(&["  SETTING", "LEFT", "RIGHT"], &indent(rows));
    }
    println!("\nMetrics");
    if c.metrics.is_empty() {
        println!("  (none recorded)");
    } else {
        let rows = c
            .metrics
            .iter()
            .map(|m| {
                let delta = match (m.left, m.right) {
                    (Some(l), Some(r)) => signed(r - l),
                    _ => "-".into(),
                };
                vec![
                    m.metric.clone(),
                    opt_number(m.left),
                    opt_number(m.right),
                    delta,
                ]
            })
            .collect();
        print_table(&["  METRIC", "LEFT", "RIGHT", "RIGHT-LEFT"], &indent(rows));
    }
}

fn delete(ctx: &Context, query: &str) -> tunesmith::Result<ExitCode> {
    let d = tunesmith::runs::delete(&ctx.home, query)?;
    if ctx.json {
        output::json_pretty(&d);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Deleted run {} and its files ({} freed).",
        d.id,
        bytes(d.freed_bytes)
    );
    for f in &d.kept_files {
        println!("Kept {} (saved outside the run's folder).", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn recover(ctx: &Context) -> tunesmith::Result<ExitCode> {
    let r = tunesmith::runs::start_fresh_history(&ctx.home)?;
    if ctx.json {
        output::json_pretty(&r);
    } else {
        println!(
            "The damaged history was moved to {} (nothing in it was deleted).",
            r.backup.display()
        );
        println!("A fresh history was started at {}.", r.database.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn indent(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|mut r| {
            if let Some(first) = r.first_mut() {
                *first = format!("  {first}");
            }
            r
        })
        .collect()
}

fn short_split(s: tunesmith_store::Split) -> &'static str {
    match s {
        tunesmith_store::Split::Train => "train",
        tunesmith_store::Split::Validation => "val",
        tunesmith_store::Split::Test => "test",
    }
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.into())
}

fn number(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn signed(x: f64) -> String {
    let n = number(x);
    if x >= 0.0 {
        format!("+{n}")
    } else {
        n
    }
}

fn opt_number(x: Option<f64>) -> String {
    x.map(number).unwrap_or_else(|| "-".into())
}

fn value(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|_| !n.is_i64() && !n.is_u64())
            .map(number)
            .unwrap_or(n.to_string()),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut x = n as f64;
    let mut unit = 0;
    while x >= 1000.0 && unit < UNITS.len() - 1 {
        x /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

/// `runs resume` (continue from the last checkpoint) or `runs rerun` (a new run from the start).
fn train_again(ctx: &Context, run: &str, rerun: bool) -> tunesmith::Result<ExitCode> {
    let json = ctx.json;
    let mut on_event = |e: &tunesmith::train::RunEvent| print_event(json, e);
    let cancel = tunesmith_engine::train::CancelHandle::new();
    let summary = if rerun {
        tunesmith::train::rerun(&ctx.home, run, cancel, &mut on_event)?
    } else {
        tunesmith::train::resume(&ctx.home, run, cancel, &mut on_event)?
    };
    print_end(json, &summary);
    Ok(ExitCode::SUCCESS)
}

/// `runs longer`: more epochs from a finished run's last checkpoint.
fn train_longer(ctx: &Context, run: &str, epochs: Option<usize>) -> tunesmith::Result<ExitCode> {
    let json = ctx.json;
    let mut on_event = |e: &tunesmith::train::RunEvent| print_event(json, e);
    let cancel = tunesmith_engine::train::CancelHandle::new();
    let summary = tunesmith::train::longer(&ctx.home, run, epochs, cancel, &mut on_event)?;
    print_end(json, &summary);
    Ok(ExitCode::SUCCESS)
}

fn print_event(json: bool, e: &tunesmith::train::RunEvent) {
    if json {
        output::json_line(e);
    } else {
        crate::train::print_human(e);
    }
}

fn print_end(json: bool, summary: &tunesmith::train::TrainSummary) {
    if !json {
        crate::train::print_end(summary);
    }
}
