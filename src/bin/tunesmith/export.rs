//! `tunesmith export`: a generation run's fine-tuned model as a PEFT adapter, a merged transformers
//! folder, or one GGUF file with an Ollama Modelfile; with `--json`, one object naming the folder
//! and its files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tunesmith::export::{ExportFormat, ExportRequest, GgufPrecision};

use crate::{output, Context};

/// The flags of `tunesmith export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// What to write: the PEFT adapter, the merged model (transformers folder), GGUF; for a
    /// classification run, `classifier` (a sentence-transformers folder with its head).
    #[arg(long, value_enum)]
    format: Format,
    /// The new folder to write (it must not exist). Default: `<home>/exports/<run name>-<format>`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// GGUF only: how the matrices are stored.
    #[arg(long, value_enum, default_value = "f16")]
    precision: Precision,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Adapter,
    Merged,
    Gguf,
    Classifier,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Precision {
    F16,
    #[value(name = "q8_0")]
    Q8_0,
}

/// Runs `tunesmith export`.
pub fn run(ctx: &Context, args: &ExportArgs) -> tunesmith::Result<ExitCode> {
    let request = ExportRequest {
        run: args.run.clone(),
        format: match args.format {
            Format::Adapter => ExportFormat::Adapter,
            Format::Merged => ExportFormat::Merged,
            Format::Gguf => ExportFormat::Gguf,
            Format::Classifier => ExportFormat::Classifier,
        },
        out: args.out.clone(),
        into: None,
        gguf: match args.precision {
            Precision::F16 => GgufPrecision::F16,
            Precision::Q8_0 => GgufPrecision::Q8_0,
        },
    };
    let summary = tunesmith::export::export(&ctx.home, &request)?;
    if ctx.json {
        output::json_pretty(&summary);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "exported run {} ({}) to {}",
        summary.run_id,
        summary.format.as_str(),
        summary.folder.display()
    );
    for f in &summary.files {
        println!("  {:<40} {:>10}", f.name, crate::runs::bytes(f.bytes));
    }
    println!("{}", summary.how_to_use);
    Ok(ExitCode::SUCCESS)
}
