//! `compare_questions`: a question set answered by every configuration (base, fine-tuned, with
//! and without RAG), scored, with one plain verdict; cancellable.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::chat::CancelHandle;
use tunesmith::compare::{CompareArgs, CompareProgress, CompareReport, CompareRequest};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

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
