//! `tunesmith chat`: ask a model (optionally a fine-tuned run, optionally reading a document index)
//! one question and watch the answer arrive.
//!
//! Text mode streams the answer to stdout as it comes, then a footer: tokens, tokens/s
//! and the passages cited. With `--json`, one object per piece
//! (`{"event":"delta","text":...}`) and a final `{"event":"done", "text", "tokens", "tokens_per_s",
//! "passages", ...}`, each on its own line.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use tunesmith::chat::{ChatArgs, ChatEvent, ChatRequest, DEFAULT_PASSAGES};

use crate::{output, Context};

/// `tunesmith chat ...`: the flags, mapped onto the facade's [`ChatArgs`] (the app's form), whose
/// defaults the facade applies.
#[derive(Debug, Args)]
pub struct ChatFlags {
    /// The model: a folder, a .gguf file or a downloaded hub id (default with --run: the run's base).
    #[arg(long, required_unless_present = "run")]
    model: Option<String>,
    /// A fine-tuned run (id, id prefix or name) whose adapter is applied to the model.
    #[arg(long)]
    run: Option<String>,
    /// A document index (see `tunesmith rag index`) to retrieve passages from and cite.
    #[arg(long)]
    rag: Option<String>,
    /// How many passages to retrieve with --rag.
    #[arg(long = "top-k", default_value_t = DEFAULT_PASSAGES as u32)]
    top_k: u32,
    /// The question or instruction.
    #[arg(long)]
    prompt: String,
    /// A system prompt (default: the model's own).
    #[arg(long)]
    system: Option<String>,
    /// The longest answer, in tokens (default: fitted to the training answers of --fit-to or
    /// --run, as `compare` does; 256 without a run). The answer stops earlier at its end.
    #[arg(long = "max-tokens")]
    max_tokens: Option<u32>,
    /// A fine-tuned run whose training answers fit the answer length (default: --run), so a base
    /// model's answer gets the same length as the run's.
    #[arg(long = "fit-to")]
    fit_to: Option<String>,
    /// 0 always picks the most likely word (the default); higher values vary the answer.
    #[arg(long, default_value_t = tunesmith::chat::DEFAULT_TEMPERATURE)]
    temperature: f64,
    /// The random seed for sampling (the same seed gives the same answer).
    #[arg(long, default_value_t = tunesmith::run::DEFAULT_SEED)]
    seed: u64,
    /// With --run: keep a .gguf base in its file's quantisation (faster, about a quarter of the
    /// memory) instead of as the run trained on it; answers may then differ from evaluation's
    /// and from the exported adapter's where two words are nearly tied.
    #[arg(long)]
    quantised: bool,
}

/// Runs `tunesmith chat`.
pub fn run(ctx: &Context, args: &ChatFlags) -> tunesmith::Result<ExitCode> {
    let mut request: ChatRequest = ChatArgs {
        model: args.model.clone(),
        run: args.run.clone(),
        rag: args.rag.clone(),
        passages: Some(args.top_k),
        prompt: args.prompt.clone(),
        system: args.system.clone(),
        temperature: Some(args.temperature),
        seed: Some(args.seed),
        max_tokens: args.max_tokens,
        fit_to: args.fit_to.clone(),
    }
    .into();
    // The app does not offer the quantised base (chat answers as the run trained); the CLI does.
    request.quantised = args.quantised;
    let json = ctx.json;
    let mut stdout = std::io::stdout().lock();
    let answer = tunesmith::chat::chat(&ctx.home, &request, None, &mut |event| {
        if json {
            output::json_line(event);
        } else if let ChatEvent::Delta { text } = event {
            // A closed pipe (`| head`) is not an error worth a panic: stop printing quietly.
            let _ = write!(stdout, "{text}");
            let _ = stdout.flush();
        }
    })?;
    if !json {
        let _ = writeln!(stdout);
        let _ = writeln!(
            stdout,
            "\n-- {} tokens in {:.1} s ({:.1} tokens/s; prompt {} tokens in {:.1} s)",
            answer.tokens,
            answer.generation_seconds,
            answer.tokens_per_s,
            answer.prompt_tokens,
            answer.prompt_seconds
        );
        let _ = writeln!(
            stdout,
            "-- answers up to {} tokens ({})",
            answer.answer_length.max_tokens, answer.answer_length.basis
        );
        if !answer.passages.is_empty() {
            let _ = writeln!(stdout, "-- passages shown to the model:");
            for p in &answer.passages {
                let _ = writeln!(stdout, "   {} (score {:.3})", p.citation, p.passage.score);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
