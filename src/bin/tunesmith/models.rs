//! `tunesmith models search|info|pull|list|import|estimate`: finding, downloading, importing models and
//! estimating memory before training. Pull shows a progress line (or JSON events with `--json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tunesmith::models::{Calibrate, EstimateOptions, EstimateReport, PullEvent};
use tunesmith_engine::device::DeviceRequest;
use tunesmith_engine::train::Method;

use crate::{output, Context};

/// `tunesmith models ...`
#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Search the Hugging Face hub (most downloaded first), with the supported badge.
    Search {
        /// Words to look for in model names.
        query: String,
        /// Only models for this task: text-classification, feature-extraction, sentence-similarity,
        /// text-generation.
        #[arg(long)]
        task: Option<String>,
        /// How many results.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// What the hub says about one model: owner, licence, gating, size, the files a pull takes.
    Info {
        /// The hub id, `owner/name`.
        id: String,
        /// Branch, tag or commit.
        #[arg(long, default_value = "main")]
        revision: String,
    },
    /// Download a model into the Hugging Face cache (resumable; only the files Tunesmith needs).
    Pull {
        /// The hub id, `owner/name`.
        id: String,
        /// Branch, tag or commit.
        #[arg(long, default_value = "main")]
        revision: String,
    },
    /// The models Tunesmith knows: cached from the hub and imported (works offline).
    List,
    /// Import a model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    Import {
        /// The folder or file.
        path: PathBuf,
    },
    /// Estimate peak memory for training, and whether it fits this device.
    Estimate {
        /// A hub id (cached), a model folder or a .gguf file.
        model: String,
        /// How the model would be trained.
        #[arg(long, value_name = "full|features|lora|qlora")]
        method: Method,
        /// Sequences per step (default: what `train` uses).
        #[arg(long)]
        batch: Option<u64>,
        /// Tokens per sequence (default: what `train` uses for the model's task).
        #[arg(long = "max-len")]
        max_len: Option<u64>,
        /// Where it would train.
        #[arg(long, default_value = "cpu", value_name = "auto|cpu|cuda|metal")]
        device: DeviceRequest,
        /// Time a few training steps here for the time estimate (seconds to a minute; remembered,
        /// so the next estimate with the same settings is instant).
        #[arg(long, conflicts_with = "no_calibrate")]
        calibrate: bool,
        /// No time estimate, not even a remembered one.
        #[arg(long)]
        no_calibrate: bool,
        /// Rows in the data (before the validation/test split), for the run's steps and total time.
        #[arg(long, conflicts_with = "data")]
        rows: Option<u64>,
        /// Passes over the training rows (default: as `train` picks by data size).
        #[arg(long)]
        epochs: Option<u64>,
        /// The data file, read for its row count (instead of --rows).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Activation checkpointing, as `train --checkpointing` (auto: on when the run would not
        /// fit otherwise).
        #[arg(long, value_enum, default_value_t = crate::train::CheckpointingArg::Auto)]
        checkpointing: crate::train::CheckpointingArg,
    },
    /// Save a Hugging Face access token in the operating system's keyring (read from standard
    /// input, or asked for), for gated models.
    Login,
    /// Remove the saved Hugging Face token from the keyring.
    Logout,
}

/// Runs a `models` subcommand.
pub fn run(ctx: &Context, args: &ModelsArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        ModelsCommand::Search { query, task, limit } => {
            let r = tunesmith::models::search(query, task.as_deref(), *limit)?;
            if ctx.json {
                output::json_pretty(&r);
            } else {
                if r.results.is_empty() {
                    println!("No models found for `{query}`.");
                }
                for m in &r.results {
                    let badge = if m.support.supported {
                        "supported"
                    } else {
                        "not supported"
                    };
                    println!(
                        "{:<50} {:>8} params {:>10} {:<12} {}{}",
                        m.id,
                        m.parameters.map(human_count).unwrap_or_else(|| "?".into()),
                        m.download_bytes
                            .map(human_bytes)
                            .unwrap_or_else(|| "?".into()),
                        m.license.as_deref().unwrap_or("?"),
                        badge,
                        if m.gated {
                            ", gated (needs a token)"
                        } else {
                            ""
                        }
                    );
                    if let Some(reason) = &m.support.reason {
                        println!("    why not: {reason}");
                    }
                }
                if !r.suggestions.is_empty() {
                    println!("\nSuggested to start with:");
                    for s in &r.suggestions {
                        println!("  {:<45} {} ({})", s.id, s.title, s.task);
                    }
                }
            }
        }
        ModelsCommand::Info { id, revision } => {
            let d = tunesmith::models::info(id, revision)?;
            if ctx.json {
                output::json_pretty(&d);
            } else {
                print_info(&d);
            }
        }
        ModelsCommand::Pull { id, revision } => {
            let json = ctx.json;
            let mut printer = ProgressPrinter::default();
            let report = tunesmith::models::pull(
                id,
                revision,
                &tunesmith::models::CancelToken::new(),
                &mut |e| {
                    if json {
                        output::json_line(e);
                    } else {
                        printer.show(e);
                    }
                },
            )?;
            if !json {
                printer.clear();
                let how = if report.offline {
                    " (offline: the cached copy)"
                } else {
                    ""
                };
                println!(
                    "{} at {} is ready{how}: {} files, {} downloaded\n{}",
                    report.repo,
                    &report.commit[..report.commit.len().min(12)],
                    report.files.len(),
                    human_bytes(report.bytes_downloaded),
                    report.snapshot.display()
                );
            }
        }
        ModelsCommand::List => {
            let l = tunesmith::models::list(&ctx.home)?;
            if ctx.json {
                output::json_pretty(&l);
            } else {
                if l.models.is_empty() {
                    println!("No models yet. Find one with `tunesmith models search`, or import a folder.");
                }
                for m in &l.models {
                    println!(
                        "{:<50} {:<6} {:>8} params {:>10} ctx {:>6} {}",
                        m.id,
                        format!("{:?}", m.source).to_lowercase(),
                        m.parameters.map(human_count).unwrap_or_else(|| "?".into()),
                        human_bytes(m.size_on_disk),
                        m.context_length
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "?".into()),
                        if m.supported {
                            "supported".to_string()
                        } else {
                            format!(
                                "not supported: {}",
                                m.unsupported_reason.as_deref().unwrap_or("")
                            )
                        }
                    );
                }
                println!(
                    "\ncache: {}{}",
                    l.cache_dir.display(),
                    if l.offline { " (offline mode)" } else { "" }
                );
            }
        }
        ModelsCommand::Import { path } => {
            let rec = tunesmith::models::import(&ctx.home, path)?;
            if ctx.json {
                output::json_pretty(&rec);
            } else {
                println!(
                    "imported {} ({}, {} parameters, context {})",
                    rec.id,
                    rec.architecture.as_deref().unwrap_or("?"),
                    rec.parameters
                        .map(human_count)
                        .unwrap_or_else(|| "?".into()),
                    rec.context_length
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "?".into())
                );
            }
        }
        ModelsCommand::Estimate {
            model,
            method,
            batch,
            max_len,
            device,
            calibrate,
            no_calibrate,
            rows,
            epochs,
            data,
            checkpointing,
        } => {
            let opts = EstimateOptions {
                method: *method,
                batch: *batch,
                max_len: *max_len,
                device: *device,
                calibrate: match (calibrate, no_calibrate) {
                    (true, _) => Calibrate::Measure,
                    (_, true) => Calibrate::Off,
                    _ => Calibrate::Cached,
                },
                rows: *rows,
                epochs: *epochs,
                data: data.clone(),
                checkpointing: (*checkpointing).into(),
            };
            if *calibrate && !ctx.json {
                eprintln!("calibrating: timing a few training steps on this machine...");
            }
            let r = tunesmith::models::estimate(&ctx.home, model, &opts)?;
            if ctx.json {
                output::json_pretty(&r);
            } else {
                print_estimate(&r);
            }
        }
        ModelsCommand::Login => {
            let token = read_token()?;
            tunesmith::models::login(&token)?;
            if ctx.json {
                output::json_pretty(&serde_json::json!({ "saved": true }));
            } else {
                println!(
                    "The token is saved in this computer's keyring; pulls of gated models use it."
                );
            }
        }
        ModelsCommand::Logout => {
            let removed = tunesmith::models::logout()?;
            if ctx.json {
                output::json_pretty(&serde_json::json!({ "removed": removed }));
            } else if removed {
                println!("The saved token was removed from the keyring.");
            } else {
                println!("No token was saved in the keyring.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The token from standard input: asked for (without echo) on a terminal, else its first line.
fn read_token() -> tunesmith::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("Hugging Face token (from https://huggingface.co/settings/tokens): ");
        let _ = std::io::stderr().flush();
    }
    let _echo = terminal.then(EchoOff::new);
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        eprintln!();
    }
    read.map_err(|e| {
        tunesmith::Error::Hub(tunesmith_hub::HubError::invalid(
            "standard input",
            format!("the token could not be read: {e}"),
        ))
    })?;
    Ok(line.trim().to_string())
}

/// Turns the terminal's echo off while it lives, so a typed token is not shown.
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed, then filled, termios.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                    return EchoOff { saved: None };
                }
                let saved = t;
                t.c_lflag &= !libc::ECHO;
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
                EchoOff { saved: Some(saved) }
            }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(t) = &self.saved {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
            }
        }
    }
}

fn print_estimate(r: &EstimateReport) {
    let e = &r.estimate;
    let b = &e.breakdown;
    println!(
        "{} ({} parameters), {}, batch {}, max length {}",
        r.model,
        human_count(e.shape.parameters),
        words(&e.request.method),
        e.request.batch,
        e.request.max_len
    );
    for (name, v) in [
        ("weights", b.weights),
        ("trainable parameters", b.trainable_parameters),
        ("gradients", b.gradients),
        ("optimiser state", b.optimizer_state),
        ("activations", b.activations),
        ("overhead", b.overhead),
        ("total", b.total),
    ] {
        println!("  {name:<22} {:>10}", human_bytes(v));
    }
    println!(
        "  {:<22} {:>10} without, {} with",
        "activation checkpointing",
        human_bytes(e.total_without_checkpointing),
        human_bytes(e.total_with_checkpointing)
    );
    if e.activation_checkpointing {
        println!(
            "{} (saves memory, about a third slower)",
            if e.checkpointing == tunesmith::run::Checkpointing::Auto {
                "activation checkpointing turned on: the run would not fit without it"
            } else {
                "with activation checkpointing"
            }
        );
    }
    match (r.device.bytes, e.verdict) {
        (Some(free), Some(v)) => println!(
            "{} free on {}: {}",
            human_bytes(free),
            r.device.device,
            words(&v)
        ),
        _ => println!("no verdict: {}", r.device.source),
    }
    if let Some(s) = &e.suggestion {
        println!("suggestion: {s}");
    }
    let t = &e.time;
    match (t.seconds_per_step, t.steps, t.total_seconds) {
        (Some(s), Some(n), Some(total)) => println!(
            "time: {s:.2} s per step x {n} steps = {} ({})",
            human_duration(total),
            t.note
        ),
        (Some(s), _, _) => println!("time: {s:.2} s per step ({})", t.note),
        // The note is written for the app too; here the way to measure is a flag.
        _ if !t.calibrated => println!("time: {} (add --calibrate to measure)", t.note),
        _ => println!("time: {}", t.note),
    }
}

fn human_duration(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// One progress line on stderr, redrawn in place.
#[derive(Default)]
pub(crate) struct ProgressPrinter {
    drawn: bool,
}

impl ProgressPrinter {
    pub(crate) fn show(&mut self, e: &PullEvent) {
        let line = match e {
            PullEvent::Started {
                repo,
                files,
                total_bytes,
                ..
            } => {
                format!(
                    "pulling {repo}: {} files, {}",
                    files.len(),
                    human_bytes(*total_bytes)
                )
            }
            PullEvent::Progress {
                file,
                bytes_done,
                total_bytes,
                rate_bytes_per_s,
                eta_s,
                ..
            } => {
                let pct = if *total_bytes > 0 {
                    *bytes_done as f64 * 100.0 / *total_bytes as f64
                } else {
                    100.0
                };
                let width = 24;
                let filled = ((pct / 100.0) * width as f64).round() as usize;
                format!(
                    "[{}{}] {:>5.1}% {} / {} {}/s ETA {} {}",
                    "#".repeat(filled.min(width)),
                    "-".repeat(width - filled.min(width)),
                    pct,
                    human_bytes(*bytes_done),
                    human_bytes(*total_bytes),
                    human_bytes(*rate_bytes_per_s as u64),
                    eta_s
                        .map(|s| format!("{s:.0}s"))
                        .unwrap_or_else(|| "?".into()),
                    file
                )
            }
            PullEvent::Retrying {
                file,
                attempt,
                reason,
            } => format!("{file}: {reason}; resuming (attempt {attempt})"),
            PullEvent::Corrupted { file, .. } => {
                format!("{file}: checksum mismatch, fetching it again")
            }
            PullEvent::Offline { reason } => {
                format!("hub unreachable ({reason}); using the cached copy")
            }
            _ => return,
        };
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }

    pub(crate) fn clear(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

/// A serialised enum's snake_case name in words (`does_not_fit` -> `does not fit`).
fn words<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|x| x.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn human_count(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.2}B", n as f64 / 1e9),
    }
}

/// `models info` for people.
fn print_info(d: &tunesmith_hub::info::ModelDetails) {
    let m = &d.summary;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    println!("{}", m.id);
    println!("  by            {}", opt(&d.author));
    println!("  task          {}", opt(&m.task));
    println!("  library       {}", opt(&d.library));
    println!("  licence       {}", opt(&m.license));
    if let Some(b) = &d.base_model {
        println!("  fine-tune of  {b}");
    }
    println!(
        "  parameters    {}",
        m.parameters.map(human_count).unwrap_or_else(|| "?".into())
    );
    println!(
        "  access        {}{}{}",
        match d.gated_mode.as_deref() {
            Some("auto") =>
                "gated: accept the licence on its hub page (granted at once), then use a token",
            Some(_) =>
                "gated: ask for access on its hub page (the owners approve), then use a token",
            None => "open",
        },
        if d.private { ", private" } else { "" },
        if d.disabled {
            ", disabled by the hub"
        } else {
            ""
        }
    );
    println!(
        "  downloads     {} last month, {} likes, last changed {}",
        m.downloads
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into()),
        m.likes.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
        opt(&m.last_modified)
    );
    match &d.pull_refused {
        Some(why) => println!("  pull          refused: {why}"),
        None => {
            println!(
                "  pull          {} in these files:",
                human_bytes(d.pull_bytes)
            );
            for f in d.files.iter().filter(|f| f.needed) {
                println!(
                    "    {:<45} {}",
                    f.name,
                    f.size.map(human_bytes).unwrap_or_else(|| "?".into())
                );
            }
        }
    }
    if m.support.supported {
        println!("  supported     yes");
    } else {
        println!(
            "  supported     no: {}",
            m.support.reason.as_deref().unwrap_or("")
        );
    }
}
