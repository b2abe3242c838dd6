//! Runs from creation to deletion.

use std::collections::HashSet;

use serde_json::json;
use tunesmith_store::{
    files, ArtefactKind, EvalModel, MetricPoint, ModelSource, NewModel, RunStatus, Split,
    StoreError,
};

use crate::common::{sample_run, temp_store};

#[test]
fn a_run_goes_from_queued_to_finished_with_timings_and_its_best_metric() {
    let (_dir, store) = temp_store();
    let run = store.create_run(&sample_run(2e-4)).unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert!(store.run_dir(&run.id).is_dir());
    let running = store.start_run(&run.id, std::process::id()).unwrap();
    assert_eq!(running.status, RunStatus::Running);
    assert!(running.started_at.is_some());
    store
        .record_metrics(
            &run.id,
            &[
                MetricPoint::now(10, Split::Validation, "accuracy", 0.71),
                MetricPoint::now(20, Split::Validation, "accuracy", 0.84),
                MetricPoint::now(30, Split::Validation, "accuracy", 0.80),
                MetricPoint::now(30, Split::Train, "loss", f64::NAN),
            ],
        )
        .unwrap();
    let done = store
        .set_run_status(&run.id, RunStatus::Finished, None)
        .unwrap();
    assert!(done.finished_at.is_some());
    let list = store.runs().unwrap();
    assert_eq!(list.len(), 1);
    let best = list[0].best_metric.as_ref().unwrap();
    assert_eq!((best.name.as_str(), best.value), ("accuracy", 0.84));
    assert!(list[0].duration_ms.is_some());
    // NaN is kept as "no value", not lost and not an error.
    assert_eq!(
        store.metric_series(&run.id, "loss", Split::Train).unwrap(),
        vec![(30, None)]
    );
    // A finished run may run again ("train longer"), but not be paused or cancelled as it stands.
    let err = store
        .set_run_status(&run.id, RunStatus::Cancelled, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::BadTransition { .. }), "{err}");
}

#[test]
fn a_hundred_thousand_metric_points_written_in_batches_all_arrive_in_order() {
    let (_dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    let mut w = store.metric_writer(&run.id);
    for step in 0..50_000u64 {
        w.push(MetricPoint {
            step,
            split: Split::Train,
            name: "loss".into(),
            value: step as f64,
            at: 0,
        })
        .unwrap();
        w.push(MetricPoint {
            step,
            split: Split::Train,
            name: "lr".into(),
            value: 1.0,
            at: 0,
        })
        .unwrap();
    }
    w.flush().unwrap();
    assert_eq!(w.written(), 100_000);
    drop(w);
    let series = store.metric_series(&run.id, "loss", Split::Train).unwrap();
    assert_eq!(series.len(), 50_000);
    assert!(series
        .iter()
        .enumerate()
        .all(|(i, (s, v))| *s == i as u64 && *v == Some(i as f64)));
    let summaries = store.metric_summaries(&run.id).unwrap();
    let loss = summaries.iter().find(|s| s.name == "loss").unwrap();
    assert_eq!(
        (loss.points, loss.last, loss.min, loss.max),
        (50_000, Some(49_999.0), Some(0.0), Some(49_999.0))
    );
}

#[test]
fn points_still_buffered_are_written_when_the_writer_is_dropped() {
    let (_dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    {
        let mut w = store
            .metric_writer(&run.id)
            .with_batching(1000, std::time::Duration::from_secs(3600));
        w.push(MetricPoint::now(1, Split::Train, "loss", 0.5))
            .unwrap();
        assert_eq!(w.pending(), 1);
        assert!(store
            .metric_series(&run.id, "loss", Split::Train)
            .unwrap()
            .is_empty());
    }
    assert_eq!(
        store
            .metric_series(&run.id, "loss", Split::Train)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn metrics_for_an_unknown_run_are_refused_by_the_foreign_key() {
    let (_dir, store) = temp_store();
    let err = store
        .record_metrics("nope", &[MetricPoint::now(1, Split::Train, "loss", 1.0)])
        .unwrap_err();
    assert!(matches!(err, StoreError::RunNotFound(_)), "{err}");
}

#[test]
fn only_complete_files_are_recorded_and_the_last_checkpoint_is_the_newest_present_one() {
    let (_dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    let dir = store.run_dir(&run.id);
    for step in [100u64, 200] {
        let target = dir.join(format!("checkpoint-{step}"));
        let tmp = files::temp_path_for(&target);
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("model.safetensors"), vec![step as u8; 1000]).unwrap();
        std::fs::write(tmp.join("state.json"), b"{}").unwrap();
        // The temporary folder is not an artefact.
        let err = store
            .record_artefact(&run.id, ArtefactKind::Checkpoint, &tmp, Some(step))
            .unwrap_err();
        assert!(err.to_string().contains("temporary"), "{err}");
        files::commit(&tmp, &target).unwrap();
        let a = store
            .record_artefact(&run.id, ArtefactKind::Checkpoint, &target, Some(step))
            .unwrap();
        assert_eq!(a.size_bytes, 1002);
        assert_eq!(a.sha256.len(), 64);
    }
    let last = store.last_checkpoint(&run.id).unwrap().unwrap();
    assert_eq!(last.step, Some(200));
    store.verify_artefact(&last).unwrap();
    // A checkpoint whose files were damaged or removed is skipped for resume.
    std::fs::write(dir.join("checkpoint-200/model.safetensors"), b"truncated").unwrap();
    assert!(store.verify_artefact(&last).is_err());
    assert_eq!(
        store.last_checkpoint(&run.id).unwrap().unwrap().step,
        Some(100)
    );
    std::fs::remove_dir_all(dir.join("checkpoint-100")).unwrap();
    assert_eq!(store.last_checkpoint(&run.id).unwrap(), None);
    let err = store
        .record_artefact(&run.id, ArtefactKind::Adapter, &dir.join("missing"), None)
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn deleting_a_run_removes_its_folder_and_every_row_about_it_but_not_outside_exports() {
    let (dir, store) = temp_store();
    let keep = store.create_run(&sample_run(1e-3)).unwrap();
    let run = store.create_run(&sample_run(2e-4)).unwrap();
    let ckpt = store.run_dir(&run.id).join("adapter.safetensors");
    files::write_atomic(&ckpt, &[7u8; 4096]).unwrap();
    store
        .record_artefact(&run.id, ArtefactKind::Adapter, &ckpt, Some(5))
        .unwrap();
    let export = dir.path().join("my-model.gguf");
    files::write_atomic(&export, b"gguf").unwrap();
    store
        .record_artefact(&run.id, ArtefactKind::Export, &export, None)
        .unwrap();
    store
        .record_metrics(&run.id, &[MetricPoint::now(1, Split::Train, "loss", 1.0)])
        .unwrap();
    store
        .record_evaluation(
            &run.id,
            EvalModel::FineTuned,
            Split::Test,
            10,
            &json!({"accuracy": 0.9}),
        )
        .unwrap();
    store.add_note(&run.id, "lower lr").unwrap();
    assert_eq!(store.run_disk_usage(&run.id).unwrap(), 4096);
    let usage = store.disk_usage().unwrap();
    assert_eq!(usage.runs_bytes, 4096);
    assert!(usage.database_bytes > 0);

    let deleted = store.delete_run(&run.id).unwrap();
    assert_eq!(deleted.freed_bytes, 4096);
    assert_eq!(deleted.kept_files, vec![export.clone()]);
    assert!(export.exists());
    assert!(!store.run_dir(&run.id).exists());
    assert!(store.run(&run.id).unwrap().is_none());
    assert!(store.artefacts(&run.id).unwrap().is_empty());
    assert!(store.metric_summaries(&run.id).unwrap().is_empty());
    assert!(store.evaluations(&run.id).unwrap().is_empty());
    assert!(store.notes(&run.id).unwrap().is_empty());
    assert!(store.run(&keep.id).unwrap().is_some());
    assert!(store.run_dir(&keep.id).is_dir());
    assert!(matches!(
        store.delete_run(&run.id).unwrap_err(),
        StoreError::RunNotFound(_)
    ));
}

#[test]
fn a_running_run_of_a_live_process_cannot_be_deleted() {
    let (_dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    store.start_run(&run.id, std::process::id()).unwrap();
    assert!(matches!(
        store.delete_run(&run.id).unwrap_err(),
        StoreError::RunActive(_)
    ));
}

#[test]
fn runs_are_found_by_id_prefix_suffix_or_unique_name() {
    let (_dir, store) = temp_store();
    let mut a = sample_run(1e-3);
    a.name = Some("first".into());
    let a = store.create_run(&a).unwrap();
    let mut b = sample_run(1e-3);
    b.name = Some("second".into());
    let b = store.create_run(&b).unwrap();
    assert_eq!(store.resolve_run(&a.id).unwrap().id, a.id);
    assert_eq!(store.resolve_run(&a.id[14..]).unwrap().id, a.id);
    assert_eq!(store.resolve_run("second").unwrap().id, b.id);
    assert!(matches!(
        store.resolve_run(&a.id[..8]).unwrap_err(),
        StoreError::AmbiguousRun { .. }
    ));
    assert!(matches!(
        store.resolve_run("zzz").unwrap_err(),
        StoreError::RunNotFound(_)
    ));
    let ids: HashSet<_> = (0..50)
        .map(|_| store.create_run(&sample_run(1.0)).unwrap().id)
        .collect();
    assert_eq!(ids.len(), 50);
}

#[test]
fn runs_list_shows_the_registry_name_of_a_registered_model() {
    let (_dir, store) = temp_store();
    let m = store
        .upsert_model(&NewModel {
            source: ModelSource::Local,
            name: "MiniLM".into(),
            revision: None,
            path: "/models/minilm".into(),
            architecture: Some("BertModel".into()),
            parameters: Some(22_000_000),
            context_length: Some(512),
            size_bytes: 90_000_000,
            hash: None,
            origin: None,
        })
        .unwrap();
    let mut new = sample_run(1e-3);
    new.model_id = Some(m.id);
    store.create_run(&new).unwrap();
    assert_eq!(store.runs().unwrap()[0].model, "MiniLM");
    // Forgetting the model keeps the run, which still names what it used.
    store.remove_model(m.id).unwrap();
    assert_eq!(
        store.runs().unwrap()[0].model,
        "sentence-transformers/all-MiniLM-L6-v2"
    );
}

#[test]
fn comparing_two_runs_lists_differing_settings_and_metrics_side_by_side() {
    let (_dir, store) = temp_store();
    let a = store.create_run(&sample_run(2e-4)).unwrap();
    let b = store.create_run(&sample_run(1e-4)).unwrap();
    store
        .record_metrics(
            &a.id,
            &[MetricPoint::now(10, Split::Validation, "accuracy", 0.8)],
        )
        .unwrap();
    store
        .record_metrics(
            &b.id,
            &[MetricPoint::now(10, Split::Validation, "accuracy", 0.7)],
        )
        .unwrap();
    store
        .record_evaluation(
            &a.id,
            EvalModel::FineTuned,
            Split::Test,
            5,
            &json!({"accuracy": 0.9}),
        )
        .unwrap();
    let c = store.compare_runs(&a, &b).unwrap();
    let keys: Vec<_> = c
        .config_differences
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(keys, ["config.lr"]);
    let row = c
        .metrics
        .iter()
        .find(|m| m.metric == "validation accuracy (best)")
        .unwrap();
    assert_eq!((row.left, row.right), (Some(0.8), Some(0.7)));
    let eval = c
        .metrics
        .iter()
        .find(|m| m.metric == "eval test fine_tuned accuracy")
        .unwrap();
    assert_eq!((eval.left, eval.right), (Some(0.9), None));
}

#[test]
fn a_rerun_copies_every_setting_and_points_back_at_its_original() {
    let (_dir, store) = temp_store();
    let original = store.create_run(&sample_run(3e-4)).unwrap();
    let spec = tunesmith_store::NewRun::rerun_of(&original);
    assert!(spec.data_matches("sha256:abc"));
    assert!(!spec.data_matches("sha256:other"));
    let again = store.create_run(&spec).unwrap();
    assert_ne!(again.id, original.id);
    assert_eq!(again.parent_run.as_deref(), Some(original.id.as_str()));
    assert_eq!(
        (again.config.clone(), again.seed, again.split.clone()),
        (
            original.config.clone(),
            original.seed,
            original.split.clone()
        )
    );
    let c = store.compare_runs(&original, &again).unwrap();
    assert!(
        c.config_differences.is_empty(),
        "{:?}",
        c.config_differences
    );
    // Deleting the original keeps the re-run, which forgets its parent.
    store.delete_run(&original.id).unwrap();
    assert_eq!(store.run(&again.id).unwrap().unwrap().parent_run, None);
}
