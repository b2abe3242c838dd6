//! How errors cross to the UI: always as `tunesmith::error::ErrorPayload`, `{ code, message }`.
//!
//! Commands end with `.to_payload()` on a `tunesmith::Result`, so the conversion is written once
//! here rather than in every command.

use tunesmith::error::ErrorPayload;

/// What every fallible command returns.
pub type CommandResult<T> = Result<T, ErrorPayload>;

/// Turns the library's result into the shape the UI receives.
pub trait ToPayload<T> {
    /// Maps the error to `{ code, message }`, keeping the library's code and message.
    fn to_payload(self) -> CommandResult<T>;
}

impl<T> ToPayload<T> for tunesmith::Result<T> {
    fn to_payload(self) -> CommandResult<T> {
        self.map_err(|e| ErrorPayload::from(&e))
    }
}
