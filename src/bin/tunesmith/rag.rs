//! `tunesmith rag index|query`: build or update a document index, and ask it a question.
//!
//! `index` prints a progress line on stderr and a per-file report (with `--json`: the report as one
//! JSON object); `query` prints the passages best first (with `--json`:
//! `{"passages": [{"source", "location", "score", "text", ...}]}`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use tunesmith::rag::{FileStatus, IndexRequest, IngestProgress, SearchMode, DEFAULT_EMBED_MODEL};

use crate::{output, Context};

/// `tunesmith rag ...`
#[derive(Debug, Args)]
pub struct RagArgs {
    #[command(subcommand)]
    command: RagCommand,
}

#[derive(Debug, Subcommand)]
enum RagCommand {
    /// Index files and folders (.txt, .md, .csv, .pdf, .docx, .html) under a name. Run it again to
    /// update: unchanged files are skipped, changed ones re-read, and files no longer among PATHs
    /// dropped from the index.
    Index {
        /// The index's name.
        #[arg(long)]
        name: String,
        /// Files and folders to index (folders are searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The embedding model: a hub id, a model folder, or `none` for keyword-only search.
        #[arg(long = "embed-model", default_value = DEFAULT_EMBED_MODEL)]
        embed_model: String,
        /// Passage size in tokens of the embedding model (default 128).
        #[arg(long = "chunk-tokens")]
        chunk_tokens: Option<usize>,
        /// Tokens of whole sentences shared by neighbouring passages (default a quarter of the size).
        #[arg(long)]
        overlap: Option<usize>,
        /// Skip files larger than this many megabytes (default 32).
        #[arg(long = "max-file-mb")]
        max_file_mb: Option<u64>,
    },
    /// Ask an index a question: the passages that best answer it, with source and score.
    Query {
        /// The index's name.
        #[arg(long)]
        name: String,
        /// The question.
        question: String,
        /// How many passages.
        #[arg(long = "top-k", default_value_t = tunesmith::rag::DEFAULT_QUERY_TOP_K)]
        top_k: usize,
        /// How to rank: hybrid (meaning and keywords fused), semantic or keyword.
        #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
        mode: Mode,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Hybrid,
    Semantic,
    Keyword,
}

/// Runs `tunesmith rag ...`.
pub fn run(ctx: &Context, args: &RagArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        RagCommand::Index {
            name,
            paths,
            embed_model,
            chunk_tokens,
            overlap,
            max_file_mb,
        } => {
            let request = IndexRequest {
                name: name.clone(),
                paths: paths.clone(),
                embed_model: Some(embed_model.clone()),
                chunk_tokens: *chunk_tokens,
                overlap_tokens: *overlap,
                max_file_bytes: max_file_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
                allow_download: true,
            };
            let json = ctx.json;
            let mut progress = |p: IngestProgress| {
                if json {
                    return;
                }
                let line = match &p {
                    IngestProgress::Found { files } => format!("found {files} file(s)"),
                    IngestProgress::Reading {
                        done,
                        total,
                        source,
                    } => format!("reading {}/{total} {source}", done + 1),
                    IngestProgress::Embedding { done, total } => {
                        format!("embedding {done}/{total} passages")
                    }
                };
                let mut err = std::io::stderr();
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
            };
            let report = tunesmith::rag::index(&ctx.home, &request, &mut progress)?;
            if ctx.json {
                output::json_pretty(&report);
            } else {
                eprintln!("\r\x1b[2K");
                for f in &report.files {
                    let status = match f.status {
                        FileStatus::Added => "added",
                        FileStatus::Updated => "updated",
                        FileStatus::Unchanged => "unchanged",
                        FileStatus::Skipped => "SKIPPED",
                    };
                    match &f.message {
                        Some(m) => println!("{status:9} {}: {m}", f.source),
                        None => println!("{status:9} {} ({} passages)", f.source, f.chunks),
                    }
                    for w in &f.warnings {
                        println!("          note: {w}");
                    }
                }
                for r in &report.removed {
                    println!("removed   {r} (no longer among the paths)");
                }
                if let Some(why) = &report.rebuilt {
                    println!("note: {why}");
                }
                println!(
                    "index `{name}`: {} documents, {} passages",
                    report.documents, report.chunks
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RagCommand::Query {
            name,
            question,
            top_k,
            mode,
        } => {
            let mode = match mode {
                Mode::Hybrid => SearchMode::Hybrid,
                Mode::Semantic => SearchMode::Semantic,
                Mode::Keyword => SearchMode::Keyword,
            };
            let result = tunesmith::rag::query(&ctx.home, name, question, *top_k, mode)?;
            if ctx.json {
                output::json_line(&result);
            } else if result.passages.is_empty() {
                println!("no passage matches this question");
            } else {
                for (i, p) in result.passages.iter().enumerate() {
                    println!(
                        "[{}] {} ({}), score {:.4}",
                        i + 1,
                        p.source,
                        p.location,
                        p.score
                    );
                    for line in p.text.lines() {
                        println!("    {line}");
                    }
                    println!();
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
