//! Tunesmith's integration tests: one binary, one module per area.
//!
//! - `common`: helpers the other modules share.
//! - `cli`: the `tunesmith` binary as a user runs it.
//! - `data_inspect`: `tunesmith data inspect` on committed files and on SST-2.
//! - `estimate_peaks`: `models estimate` within 25 % of real training runs' peak memory (real tier).
//! - `models_cli`: `tunesmith models ...` against the loopback mock hub (no internet).
//! - `runs_cli`: `tunesmith runs ...` on a history populated through the store's API.
//! - `rag_cli`: `tunesmith rag index|query` offline, keyword-only, over the sample documents.
//! - `rag_retrieval`: the real MiniLM encoder over the sample documents (skips without the model).
//! - `train_cli`: `tunesmith train --json` on the tiny BERT fixture (event contract, run files).
//! - `train_generate`: `tunesmith train --task generate` (LoRA, QLoRA) on the tiny Llama fixture.
//! - `train_history`: `train` refuses what the data doctor refuses and records its run in the history.
//! - `chat_cli`: `tunesmith chat` over the tiny Llama fixture, and SmolLM2 (real tier).
//! - `checkpointing_cli`: `train --checkpointing off|on|auto` on the tiny Llama: same losses, recorded, auto fits.
//! - `compare_cli`: `tunesmith compare` base vs a fine-tuned run (tiny Llama), and base vs RAG (real tier).
//! - `ratings_cli`: `tunesmith ratings`: blind order, un-blinding, tally with Wilson interval, DPO pairs export.
//! - `errors_cli`: `tunesmith errors`: wrong and least-sure test rows, the corrected copy (original unchanged), retrain linked.
//! - `explain_cli`: `tunesmith explain`: the closest training rows (training split only), keyword fallback offline.
//! - `eval_cli`: `tunesmith eval` / `predict` on a run trained on the tiny BERT fixture.
//! - `forgetting_cli`: the forgetting check after training and `eval --forgetting` (tiny Llama), probe files, refusals.
//! - `predict_file_cli`: `tunesmith predict --data FILE --out FILE`: every row into a new file, in bounded memory.
//! - `job_export`: `tunesmith job export` of fixed tiny runs: the local split, the committed settings mapping.
//! - `job_import`: `tunesmith job import` of committed TRL outputs: chat/predict as PEFT, refusals.
//! - `export_classifier_cli`: `tunesmith export --format classifier`: a sentence-transformers folder, LoRA folded in.
//! - `export_cli`: `tunesmith export` (adapter, merged, GGUF + Modelfile) loads back as the fine-tuned model.
//! - `runs_resume`: `runs resume` after a SIGKILL continues the same loss curve.
//! - `real_models`: real tier: all-MiniLM-L6-v2 on 2,000 SST-2 rows reaches issue 3's accuracies.
//! - `fixtures_shapes`: the committed reference checkpoints are present and their shapes consistent.
//! - `disk_faults`: a deleted model (eval, predict, rerun, chat, compare), a changed dataset, a full disk under an index build.
//! - `memory_check`: a job that would not fit in the free memory is refused with what to change.
//! - `memory_rounds`: train -> eval -> compare -> chat -> export twice in one process: no growth.
//! - `run_precision`: chat with a run on a quantised GGUF base answers on the base as it trained.
//! - `home_paths`: a home folder with spaces and non-ASCII characters works; a read-only one is refused.

mod chat_cli;
mod checkpointing_cli;
mod cli;
mod common;
mod compare_cli;
mod data_inspect;
mod disk_faults;
mod errors_cli;
mod estimate_peaks;
mod eval_cli;
mod export_classifier_cli;
mod explain_cli;
mod export_cli;
mod facts_defaults;
mod forgetting_cli;
mod fixtures_shapes;
mod home_paths;
mod job_export;
mod job_import;
mod memory_check;
mod memory_rounds;
mod models_cli;
mod predict_file_cli;
mod rag_cli;
mod rag_retrieval;
mod ratings_cli;
mod real_models;
mod run_precision;
mod runs_cli;
mod runs_resume;
mod train_cli;
mod train_generate;
mod train_history;
