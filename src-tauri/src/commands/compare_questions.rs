//! `compare_questions`: a question set answered by every configuration (base, fine-tuned, with
//! and without RAG), scored, with one plain verdict; cancellable.

use std::path::PathBuf;

use serde::Deserialize;
use tauri::ipc::Channel;
use tauri::State;
use tunesmith::chat::{CancelHandle, DEFAULT_PASSAGES};
use tunesmith::compare::{
    CompareProgress, CompareReport, CompareRequest, DEFAULT_COMPARE_MAX_TOKENS,
};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// A comparison: the questions file and what to compare.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub(crate) struct CompareArgs {
    /// A CSV/TSV/JSONL file with a `question` and an `answer` (reference) column.
    questions: PathBuf,
    /// The base model (default: the run's).
    #[specta(optional)]
    model: Option<String>,
    /// A fine-tuned run.
    #[specta(optional)]
    run: Option<String>,
    /// A document index for the RAG configurations.
    #[specta(optional)]
    rag: Option<String>,
    /// The most tokens per answer (default 96).
    #[specta(optional)]
    max_tokens: Option<u32>,
    /// Passages per question with `rag` (default 3).
    #[specta(optional)]
    passages: Option<u32>,
    /// A system prompt.
    #[specta(optional)]
    system: Option<String>,
}

impl From<CompareArgs> for CompareRequest {
    fn from(a: CompareArgs) -> CompareRequest {
        CompareRequest {
            questions: a.questions,
            model: a.model,
            run: a.run,
            rag: a.rag,
            passages: a.passages.map_or(DEFAULT_PASSAGES, |p| p as usize),
            max_tokens: a
                .max_tokens
                .map_or(DEFAULT_COMPARE_MAX_TOKENS, |m| m as usize),
            system: a.system,
        }
    }
}

/// Runs the comparison `request` describes as job `job_id`, sending progress.
#[tauri::command]
#[specta::specta]
pub(crate) async fn compare_questions(
    state: State<'_, AppState>,
    job_id: String,
    request: CompareArgs,
    on_event: Channel<CompareProgress>,
) -> CommandResult<CompareReport> {
    let home = state.home_owned()?;
    let cancel = CancelHandle::new();
    let job = state
        .jobs()
        .start(&job_id, JobKind::Compare, Stopper::Generate(cancel.clone()))?;
    let request = CompareRequest::from(request);
    blocking(move || {
        let _job = job;
        tunesmith::compare::compare(&home, &request, Some(&cancel), &mut |p| {
            let _ = on_event.send(p.clone());
        })
    })
    .await
}
