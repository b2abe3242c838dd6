//! `tunesmith explain`: the run's training examples closest to a text (by sentence-embedding
//! similarity, or keywords when no embedding model is available offline), with their labels or
//! answers: which of the user's examples a prediction or answer leans on.

use std::process::ExitCode;

use clap::Args;
use tunesmith::explain::{ExplainRequest, Explanation, DEFAULT_TOP_K};

use crate::{output, Context};

/// The flags of `tunesmith explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The run (id, id prefix, suffix or name).
    #[arg(long)]
    run: String,
    /// The text classified, or the question answered.
    #[arg(long)]
    text: String,
    /// How many training examples to show.
    #[arg(long, default_value_t = DEFAULT_TOP_K as u32)]
    top_k: u32,
    /// The embedding model (hub id or folder); `none` for keyword similarity. Default:
    /// all-MiniLM-L6-v2, or keywords when it is not available offline.
    #[arg(long, value_name = "MODEL")]
    embed_model: Option<String>,
}

/// Runs `tunesmith explain`.
pub fn run(ctx: &Context, args: &ExplainArgs) -> tunesmith::Result<ExitCode> {
    let explanation = tunesmith::explain::explain(
        &ctx.home,
        &ExplainRequest {
            run: args.run.clone(),
            text: args.text.clone(),
            top_k: Some(args.top_k),
            embed_model: args.embed_model.clone(),
        },
    )?;
    if ctx.json {
        output::json_pretty(&explanation);
    } else {
        print_explanation(&explanation);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_explanation(e: &Explanation) {
    println!(
        "run {}: the {} training examples closest to the text (similarity by {}; {} rows compared{})",
        e.run_id,
        e.examples.len(),
        e.embed_model,
        e.searched_rows,
        if e.skipped_rows > 0 {
            format!(", {} more not compared", e.skipped_rows)
        } else {
            String::new()
        }
    );
    if let Some(reason) = &e.fallback_reason {
        println!("note: {reason}");
    }
    for x in &e.examples {
        let taught = match (&x.label, &x.response) {
            (Some(l), _) => format!("label: {l}"),
            (None, Some(r)) => format!("answer: {r}"),
            (None, None) => String::new(),
        };
        println!("{:>6.3}  line {:>5}  {}", x.similarity, x.line, x.text);
        if !taught.is_empty() {
            println!("{:>21}{taught}", "");
        }
    }
}
