//! `tunesmith predict`: classify one text with a trained run, printing every label's probability
//! (or one JSON object with `--json`).

use std::process::ExitCode;

use clap::Args;

use crate::{output, Context};

/// The flags of `tunesmith predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// The text to classify.
    #[arg(long)]
    text: String,
}

/// Runs `tunesmith predict`.
pub fn run(ctx: &Context, args: &PredictArgs) -> tunesmith::Result<ExitCode> {
    let p = tunesmith::predict::predict(&ctx.home, &args.run, &args.text)?;
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
