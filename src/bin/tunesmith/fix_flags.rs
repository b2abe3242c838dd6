//! The data doctor's one-click fixes as flags, shared by `data inspect` and `train` so a fix the
//! user checked with `inspect` is the very one training applies.

use clap::Args;
use tunesmith::data::Fixes;

/// `--drop-duplicates`, `--drop-conflicts`, `--drop-empty`, `--merge-labels`, `--skip-bad-rows`.
#[derive(Debug, Clone, Args)]
pub struct FixFlags {
    /// Leave out exact and near duplicates (the first of each is kept).
    #[arg(long)]
    drop_duplicates: bool,
    /// Leave out rows whose text appears with different labels.
    #[arg(long)]
    drop_conflicts: bool,
    /// Leave out rows with an empty text, label or response, without a warning.
    #[arg(long)]
    drop_empty: bool,
    /// Merge label spellings that mean the same class (`Positive`, `positive `, `POS`).
    #[arg(long)]
    merge_labels: bool,
    /// Leave out rows that cannot be read instead of refusing the file.
    #[arg(long)]
    skip_bad_rows: bool,
}

impl FixFlags {
    /// The fixes these flags ask for.
    pub fn fixes(&self) -> Fixes {
        Fixes {
            drop_duplicates: self.drop_duplicates,
            drop_conflicts: self.drop_conflicts,
            drop_empty: self.drop_empty,
            merge_labels: self.merge_labels,
            skip_bad_rows: self.skip_bad_rows,
        }
    }
}
