//! The schema's history: the ordered list of migrations, each defined beside the table it creates
//! or changes. Schema version N is the state after the first N migrations (SQLite's `user_version`).
//! A migration, once released, is never edited: change the schema by appending a new one, and add
//! a fixture for the version it supersedes (`tests/fixtures/schema_vN.sql`).

use rusqlite_migration::{Migrations, M};

use crate::{artefacts, datasets, evaluations, metrics, models, notes, outputs, ratings, runs};

/// Every migration, in order. The index + 1 is the schema version it produces.
const STEPS: &[&str] = &[
    models::MIGRATION_V1,
    datasets::MIGRATION_V2,
    runs::MIGRATION_V3,
    metrics::MIGRATION_V4,
    artefacts::MIGRATION_V5,
    evaluations::MIGRATION_V6,
    notes::MIGRATION_V7,
    outputs::MIGRATION_V8,
    ratings::MIGRATION_V9,
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = STEPS.len() as u32;

/// The migrations, for the runner.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(STEPS.iter().map(|sql| M::up(sql)).collect())
}

/// The SQL of the first `version` migrations, concatenated (for tests that rebuild an old schema).
pub fn sql_up_to(version: u32) -> String {
    STEPS
        .iter()
        .take(version as usize)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migration_list_passes_the_runners_own_validation() {
        super::migrations().validate().unwrap();
    }
}
