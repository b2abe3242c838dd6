//! "Did it forget what it knew?": a generation run's fine-tuned model and its base answer the same
//! short general questions (greedy, at most [`ANSWER_TOKENS`] tokens, in the run's chat template)
//! and are scored on the same plain English text (perplexity), so the user sees
//! "kept N of M general answers; general-text perplexity X -> Y", the answers it lost, and a
//! warning with the usual remedies when it forgot beyond the thresholds of [`report`].
//!
//! Run after training a generation run (unless the request turns it off) and on demand
//! (`tunesmith eval --run RUN --forgetting [--probes FILE]`, Evaluate's "Check what it forgot").
//! The base model's side is measured once per (base model, probe set) and cached ([`cache`]); the
//! latest result is kept in the run's folder (`forgetting.json`), where its history page reads it.
//! A classification run is refused in plain words: an encoder classifier has no general answers
//! to lose, and no metric is invented for it.

pub mod cache;
pub mod matching;
pub mod probes;
pub mod report;

use std::path::Path;

use tunesmith_engine::device::{self, Device};
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::task::SftTask;

pub use cache::Measurement;
pub use probes::{MatchRule, Probe, ProbeSet};
pub use report::{ForgettingReport, ProbeAnswer};

use crate::data::Task;
use crate::home::Home;
use crate::run::{find_run, TrainPlan};
use crate::session::{DecoderSession, DecoderText};
use crate::{Error, Result};

/// The longest answer to a probe, in tokens: the answers are a word or a number.
pub const ANSWER_TOKENS: usize = 16;
/// The general text is scored in windows of this many tokens (any model's context holds one).
pub const PERPLEXITY_WINDOW: usize = 128;
/// The latest result, in the run's folder.
pub const REPORT_FILE: &str = "forgetting.json";
/// Why a classification run has no forgetting check.
pub const CLASSIFICATION_NOTE: &str = "the forgetting check applies to generation runs: an encoder classifier has no general answers to lose";

/// `text`'s answers with `task`'s model to `probes`' questions, and its perplexity on their text.
pub(crate) fn measure(
    text: &DecoderText,
    task: &SftTask,
    probes: &ProbeSet,
) -> Result<Measurement> {
    let questions: Vec<String> = probes.probes.iter().map(|p| p.question.clone()).collect();
    let answers = text.short_answers(task.model(), &questions, ANSWER_TOKENS)?;
    let examples = text.text_examples(&probes.text, PERPLEXITY_WINDOW)?;
    let perplexity = task.report(&examples)?.perplexity;
    Ok(Measurement {
        answers,
        perplexity,
    })
}

/// The cache key of `plan`'s base model (as the plan loads it) on `device`, asked `probes`.
pub(crate) fn base_key(plan: &TrainPlan, device: &Device, probes: &ProbeSet) -> String {
    cache::key(
        plan.model(),
        &format!("{:?}", plan.quantize()),
        &device::name(device),
        &probes.fingerprint(ANSWER_TOKENS),
    )
}

/// The base model's measurement under `key`: from the cache, else measured now by `measure_now`
/// and kept. Returns whether it came from the cache.
pub(crate) fn base_measurement(
    home: &Home,
    key: &str,
    probes: &ProbeSet,
    measure_now: impl FnOnce() -> Result<Measurement>,
) -> Result<(Measurement, bool)> {
    if let Some(m) = cache::load(home, key, probes.probes.len()) {
        return Ok((m, true));
    }
    let m = measure_now()?;
    // The cache only saves time: a home that cannot keep it still gets its check (measured again
    // next time).
    let _ = cache::save(home, key, &m);
    Ok((m, false))
}

/// Checks what generation run `query` forgot: the base (cached) and the fine-tuned model answer
/// `probes_file`'s questions (the built-in set when `None`) and are scored on the general text.
/// The result is kept in the run's folder, where the history shows it.
pub fn check(home: &Home, query: &str, probes_file: Option<&Path>) -> Result<ForgettingReport> {
    let run = find_run(home, query)?;
    let plan = TrainPlan::of_run(&run);
    if plan.task() != Task::Generate {
        return Err(Error::invalid(format!(
            "run {}: {CLASSIFICATION_NOTE}",
            run.id
        )));
    }
    let probes = match probes_file {
        Some(file) => ProbeSet::read(file)?,
        None => ProbeSet::builtin()?,
    };
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    crate::memory_check::before_loading(
        home,
        &plan.model().display().to_string(),
        "check what it forgot",
        // Both models load as the run trained (a GGUF dequantised), so count them that way.
        false,
    )?;
    let device = device::open(plan.request().device)?;
    let key = base_key(&plan, &device, &probes);
    // One model in memory at a time: the base (when not cached), then the fine-tuned one.
    let (base, cached) = base_measurement(home, &key, &probes, || {
        let (model, pad_id, text) =
            DecoderSession::of_plan(&plan, Backbone::Frozen, &device)?.into_parts();
        measure(&text, &SftTask::new(model, pad_id), &probes)
    })?;
    let fine = {
        let (model, pad_id, text) =
            DecoderSession::of_run(home, &run, &plan, &device)?.into_parts();
        measure(&text, &SftTask::new(model, pad_id), &probes)?
    };
    let report = report_of(&run.id, &probes, &base, &fine, cached);
    record(&run.dir, &report)?;
    Ok(report)
}

/// Keeps `report` in the run's folder `run_dir` (written whole or not at all), replacing an
/// earlier one.
pub(crate) fn record(run_dir: &Path, report: &ForgettingReport) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::invalid(format!("cannot record the forgetting check: {e}")))?;
    tunesmith_store::files::write_atomic(&run_dir.join(REPORT_FILE), &bytes)?;
    Ok(())
}

/// The report of `probes` answered by the base (`base`, from the cache when `cached`) and the
/// fine-tuned model (`fine`): the same after training and on demand.
pub(crate) fn report_of(
    run_id: &str,
    probes: &ProbeSet,
    base: &Measurement,
    fine: &Measurement,
    cached: bool,
) -> ForgettingReport {
    ForgettingReport::new(
        run_id,
        &probes.source,
        &probes.probes,
        &base.answers,
        &fine.answers,
        base.perplexity,
        fine.perplexity,
        cached,
    )
}

/// The latest forgetting check kept in the run folder `run_dir`, if any (an unreadable file
/// counts as none: the check can be run again).
pub fn recorded(run_dir: &Path) -> Option<ForgettingReport> {
    let text = std::fs::read_to_string(run_dir.join(REPORT_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}
