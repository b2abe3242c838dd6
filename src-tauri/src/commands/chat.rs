//! `chat`: one question answered by a base model or a fine-tuned run, optionally reading passages
//! from a document index, streamed piece by piece; cancellable.

use serde::Deserialize;
use tauri::ipc::Channel;
use tauri::State;
use tunesmith::chat::{
    AnswerOptions, CancelHandle, ChatAnswer, ChatEvent, ChatRequest, DEFAULT_MAX_TOKENS,
    DEFAULT_PASSAGES,
};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// One column of Chat & Compare. Name a `model`, a `run`, or both (the run's adapter on that
/// model); `rag` adds passages from that index.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub(crate) struct ChatArgs {
    /// The base model: a folder, a `.gguf` file or a cached hub id.
    #[specta(optional)]
    model: Option<String>,
    /// A fine-tuned run (id, prefix or name).
    #[specta(optional)]
    run: Option<String>,
    /// A document index to read passages from.
    #[specta(optional)]
    rag: Option<String>,
    /// The user's message.
    prompt: String,
    /// A system prompt (the model's default when left out).
    #[specta(optional)]
    system: Option<String>,
    /// The most tokens to generate (default 256).
    #[specta(optional)]
    max_tokens: Option<u32>,
    /// 0 (the default) answers greedily; higher values sample more freely.
    #[specta(optional)]
    temperature: Option<f64>,
    /// The sampling seed (default 42).
    #[specta(optional)]
    seed: Option<u64>,
    /// How many passages to retrieve with `rag` (default 3).
    #[specta(optional)]
    passages: Option<u32>,
}

impl From<ChatArgs> for ChatRequest {
    fn from(a: ChatArgs) -> ChatRequest {
        let defaults = AnswerOptions::default();
        ChatRequest {
            model: a.model,
            run: a.run,
            rag: a.rag,
            passages: a.passages.map_or(DEFAULT_PASSAGES, |p| p as usize),
            prompt: a.prompt,
            options: AnswerOptions {
                system: a.system,
                max_tokens: a.max_tokens.map_or(DEFAULT_MAX_TOKENS, |m| m as usize),
                temperature: a.temperature.unwrap_or(defaults.temperature),
                seed: a.seed.unwrap_or(defaults.seed),
            },
        }
    }
}

/// Answers `request` as job `job_id`, sending each `delta` and then `done`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn chat(
    state: State<'_, AppState>,
    job_id: String,
    request: ChatArgs,
    on_event: Channel<ChatEvent>,
) -> CommandResult<ChatAnswer> {
    let home = state.home_owned()?;
    let cancel = CancelHandle::new();
    let job = state
        .jobs()
        .start(&job_id, JobKind::Chat, Stopper::Generate(cancel.clone()))?;
    let request = ChatRequest::from(request);
    blocking(move || {
        let _job = job;
        tunesmith::chat::chat(&home, &request, Some(&cancel), &mut |e| {
            let _ = on_event.send(e.clone());
        })
    })
    .await
}
