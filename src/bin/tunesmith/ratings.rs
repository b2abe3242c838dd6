//! `tunesmith ratings blind|add|list|tally|export`: blind A/B ratings of two columns' answers, as
//! in Chat & Compare's "Rate blind". From the command line a rating is made on a comparison saved
//! with a run (`compare-*.json`): `blind` shows two columns' answers as "Answer 1 / Answer 2" with
//! the seed of that order, `add --seed` records a choice in those terms (without `--seed`, the
//! choice names the columns: 1 is `--a`, 2 is `--b`); `export` writes preference pairs for DPO.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tunesmith::compare::Configuration;
use tunesmith::ratings::{Rating, ReportRating};
use tunesmith::ratings_export::RatingsExportArgs;
use tunesmith::ratings_tally::RatingsTally;
use tunesmith_store::Choice;

use crate::{output, Context};

/// `tunesmith ratings ...`
#[derive(Debug, Args)]
pub struct RatingsArgs {
    #[command(subcommand)]
    command: RatingsCommand,
}

#[derive(Debug, Subcommand)]
enum RatingsCommand {
    /// Show two columns' answers of a saved comparison as "Answer 1 / Answer 2", sources hidden.
    Blind {
        /// A comparison saved with a run (the run's compare/compare-*.json).
        #[arg(long)]
        report: PathBuf,
        /// The first column: base, fine_tuned, base_rag or fine_tuned_rag.
        #[arg(long, value_parser = parse_column)]
        a: Configuration,
        /// The second column.
        #[arg(long, value_parser = parse_column)]
        b: Configuration,
        /// Replay the order drawn from this seed (default: a new one, printed).
        #[arg(long)]
        seed: Option<u32>,
    },
    /// Record a rating of one question of a saved comparison.
    Add {
        /// The comparison (the run's compare/compare-*.json).
        #[arg(long)]
        report: PathBuf,
        /// The question's number in it (1 for the first, as `ratings blind` numbers them).
        #[arg(long)]
        question: u32,
        /// The first column: base, fine_tuned, base_rag or fine_tuned_rag.
        #[arg(long, value_parser = parse_column)]
        a: Configuration,
        /// The second column.
        #[arg(long, value_parser = parse_column)]
        b: Configuration,
        /// The better answer: 1, 2, tie or both-wrong (blind terms with --seed; else 1 is --a).
        #[arg(long, value_parser = parse_choice)]
        choice: Choice,
        /// The seed `ratings blind` printed: the choice is in the blind order it drew.
        #[arg(long)]
        seed: Option<u32>,
        /// A corrected answer (becomes a training row, and is chosen over both answers).
        #[arg(long)]
        corrected: Option<String>,
    },
    /// Every rating, oldest first, with the column preferred.
    List {
        /// Only this run's ratings.
        #[arg(long)]
        run: Option<String>,
    },
    /// Win rates per pair of columns, with a 95 % interval; ties and both-wrong shown apart.
    Tally {
        /// Only this run's ratings.
        #[arg(long)]
        run: Option<String>,
    },
    /// Write the ratings as preference pairs (JSONL: prompt, chosen, rejected; TRL's DPO format).
    Export {
        /// The preference pairs' file (.jsonl).
        #[arg(long)]
        out: PathBuf,
        /// Also write the corrected answers as training rows (.csv with prompt, response).
        #[arg(long)]
        rows: Option<PathBuf>,
        /// Only this run's ratings.
        #[arg(long)]
        run: Option<String>,
    },
}

fn parse_column(s: &str) -> Result<Configuration, String> {
    Configuration::named(s).ok_or_else(|| {
        format!("`{s}` is not a column: use base, fine_tuned, base_rag or fine_tuned_rag")
    })
}

fn parse_choice(s: &str) -> Result<Choice, String> {
    tunesmith::ratings::parse_choice(s)
        .ok_or_else(|| format!("`{s}` is not a choice: use 1, 2, tie or both-wrong"))
}

/// Runs `tunesmith ratings ...`.
pub fn run(ctx: &Context, args: &RatingsArgs) -> tunesmith::Result<ExitCode> {
    match &args.command {
        RatingsCommand::Blind { report, a, b, seed } => {
            let blind = tunesmith::ratings::blind_report(report, *a, *b, *seed)?;
            if ctx.json {
                output::json_pretty(&blind);
            } else {
                for q in &blind.questions {
                    println!("Question {}: {}", q.question, q.prompt);
                    println!("  Answer 1: {}", q.answer_1.replace('\n', " "));
                    println!("  Answer 2: {}", q.answer_2.replace('\n', " "));
                }
                println!(
                    "\nrate: tunesmith ratings add --report {} --a {} --b {} --seed {} --question N --choice 1|2|tie|both-wrong [--corrected TEXT]",
                    report.display(),
                    a.name(),
                    b.name(),
                    blind.seed
                );
            }
        }
        RatingsCommand::Add {
            report,
            question,
            a,
            b,
            choice,
            seed,
            corrected,
        } => {
            let rating = tunesmith::ratings::rate_report(
                &ctx.home,
                &ReportRating {
                    report: report.clone(),
                    question: *question,
                    a: *a,
                    b: *b,
                    seed: *seed,
                    choice: *choice,
                    corrected: corrected.clone(),
                },
            )?;
            if ctx.json {
                output::json_pretty(&rating);
            } else {
                println!("recorded: {}", describe(&rating));
            }
        }
        RatingsCommand::List { run } => {
            let all = tunesmith::ratings::list(&ctx.home, run.as_deref())?;
            if ctx.json {
                output::json_pretty(&all);
            } else if all.is_empty() {
                println!("no ratings yet: rate answers blind in Chat & Compare, or with `tunesmith ratings blind` and `add`");
            } else {
                for r in &all {
                    println!("{:>4}  {}", r.record.id, describe(r));
                }
            }
        }
        RatingsCommand::Tally { run } => {
            let tally = tunesmith::ratings_tally::tally_history(&ctx.home, run.as_deref())?;
            if ctx.json {
                output::json_pretty(&tally);
            } else {
                print_tally(&tally);
            }
        }
        RatingsCommand::Export { out, rows, run } => {
            let done = tunesmith::ratings_export::export(
                &ctx.home,
                &RatingsExportArgs {
                    out: Some(out.clone()),
                    rows: rows.clone(),
                    run: run.clone(),
                },
            )?;
            if ctx.json {
                output::json_pretty(&done);
            } else {
                println!(
                    "wrote {} preference {} from {} ratings to {} ({} ties and {} both wrong without a correction make no pair)",
                    done.pairs,
                    if done.pairs == 1 { "pair" } else { "pairs" },
                    done.ratings,
                    done.out.display(),
                    done.ties,
                    done.both_wrong
                );
                if let Some(file) = &done.rows_file {
                    println!(
                        "wrote {} corrected {} as training rows to {}",
                        done.rows,
                        if done.rows == 1 { "answer" } else { "answers" },
                        file.display()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(r: &Rating) -> String {
    let rec = &r.record;
    let verdict = match (rec.choice, r.preferred) {
        (Choice::Tie, _) => "a tie".to_string(),
        (Choice::BothWrong, _) => "both wrong".to_string(),
        (_, Some(c)) => format!("{} preferred", c.label()),
        (_, None) => "no preference".to_string(),
    };
    let question: String = rec.prompt.chars().take(60).collect();
    format!(
        "{} vs {}: {verdict}{}{}  \"{}\"",
        rec.a_config,
        rec.b_config,
        if r.blind { " (blind)" } else { "" },
        if rec.corrected.is_some() {
            ", corrected"
        } else {
            ""
        },
        question.replace('\n', " ")
    )
}

fn print_tally(t: &RatingsTally) {
    if t.pairs.is_empty() {
        println!("no ratings yet: rate answers blind in Chat & Compare, or with `tunesmith ratings blind` and `add`");
        return;
    }
    for p in &t.pairs {
        println!("{}", p.text);
    }
    println!("\n{}", t.rule);
}
