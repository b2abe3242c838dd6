//! `ratings_blind`: the blind order of a new round of ratings (which column is "Answer 1" for each
//! question), drawn from a fresh seed that every rating of the round records.

use tunesmith::ratings_blind::BlindOrder;

use crate::error::CommandResult;

/// The order of `items` questions from a fresh seed.
#[tauri::command]
#[specta::specta]
pub(crate) fn ratings_blind(items: u32) -> CommandResult<BlindOrder> {
    Ok(tunesmith::ratings_blind::order(None, items as usize))
}
