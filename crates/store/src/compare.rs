//! Comparing two runs: which settings differ (the resolved configs, flattened to dotted paths) and
//! their metrics side by side (last and best of each series, and each evaluation's numbers).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Result, RunRecord, Split, Store};

/// One setting that differs between two runs (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigDifference {
    /// Dotted path, e.g. `optimizer.lr` or `lora.target_modules[1]`.
    pub key: String,
    /// The left run's value.
    pub left: Option<Value>,
    /// The right run's value.
    pub right: Option<Value>,
}

/// One metric of both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricRow {
    /// Where it comes from: a training series (`validation accuracy`) or an evaluation
    /// (`eval test fine_tuned accuracy`).
    pub metric: String,
    /// The left run's value (last of a series, or the evaluation's number).
    pub left: Option<f64>,
    /// The right run's value.
    pub right: Option<f64>,
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunComparison {
    /// The left run.
    pub left: RunRecord,
    /// The right run.
    pub right: RunRecord,
    /// Settings that differ, including model, dataset, data fingerprint, seed and device.
    pub config_differences: Vec<ConfigDifference>,
    /// Metrics side by side.
    pub metrics: Vec<MetricRow>,
}

/// Flattens JSON to `path -> scalar` (objects by `.key`, arrays by `[i]`).
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, child, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), child, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

/// The settings that differ between two JSON configurations, in key order.
pub fn config_diff(left: &Value, right: &Value) -> Vec<ConfigDifference> {
    let (l, r) = (flatten(left), flatten(right));
    let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (l.get(k), r.get(k));
            (a != b).then(|| ConfigDifference {
                key: k.clone(),
                left: a.cloned(),
                right: b.cloned(),
            })
        })
        .collect()
}

/// What identifies a run beyond its config: compared alongside it.
fn identity(run: &RunRecord) -> Value {
    serde_json::json!({
        "run": {
            "task": run.task,
            "method": run.method,
            "model": run.model_ref,
            "dataset": run.dataset_ref,
            "data_fingerprint": run.data_fingerprint,
            "seed": run.seed,
            "device": run.device,
            "split": run.split,
        },
        "config": run.config,
    })
}

impl Store {
    /// Compares two runs: settings that differ and metrics side by side.
    pub fn compare_runs(&self, left: &RunRecord, right: &RunRecord) -> Result<RunComparison> {
        let mut rows: BTreeMap<(u8, String), (Option<f64>, Option<f64>)> = BTreeMap::new();
        for (side, run) in [(0usize, left), (1, right)] {
            for s in self.metric_summaries(&run.id)? {
                // Training-batch series are noisy: the last value says little, the best says more;
                // validation/test series: the last value is what the run ended with.
                let split_rank = match s.split {
                    Split::Validation => 0,
                    Split::Test => 1,
                    Split::Train => 2,
                };
                let entry = rows
                    .entry((
                        split_rank,
                        format!("{} {} (last)", s.split.as_str(), s.name),
                    ))
                    .or_default();
                set(entry, side, s.last);
                if let Some(pm) = run
                    .primary_metric
                    .as_ref()
                    .filter(|p| p.name == s.name && p.split == s.split)
                {
                    let best = match pm.goal {
                        crate::Goal::Max => s.max,
                        crate::Goal::Min => s.min,
                    };
                    let entry = rows
                        .entry((
                            split_rank,
                            format!("{} {} (best)", s.split.as_str(), s.name),
                        ))
                        .or_default();
                    set(entry, side, best);
                }
            }
            for e in self.evaluations(&run.id)? {
                for (k, v) in flatten(&e.metrics) {
                    if let Some(x) = v.as_f64() {
                        let entry = rows
                            .entry((
                                3,
                                format!("eval {} {} {}", e.split.as_str(), e.model.as_str(), k),
                            ))
                            .or_default();
                        set(entry, side, Some(x));
                    }
                }
            }
        }
        Ok(RunComparison {
            config_differences: config_diff(&identity(left), &identity(right)),
            metrics: rows
                .into_iter()
                .map(|((_, metric), (l, r))| MetricRow {
                    metric,
                    left: l,
                    right: r,
                })
                .collect(),
            left: left.clone(),
            right: right.clone(),
        })
    }
}

fn set(entry: &mut (Option<f64>, Option<f64>), side: usize, value: Option<f64>) {
    if side == 0 {
        entry.0 = value;
    } else {
        entry.1 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_differing_settings_are_listed_with_dotted_paths() {
        let a = json!({"lr": 2e-4, "lora": {"rank": 8, "targets": ["q", "v"]}, "epochs": 3});
        let b = json!({"lr": 1e-4, "lora": {"rank": 8, "targets": ["q", "k"]}, "warmup": 0.1, "epochs": 3});
        let d = config_diff(&a, &b);
        let keys: Vec<_> = d.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["lora.targets[1]", "lr", "warmup"]);
        assert_eq!(d[2].left, None);
        assert_eq!(d[2].right, Some(json!(0.1)));
    }

    #[test]
    fn identical_configs_have_no_differences() {
        let a = json!({"x": [1, {"y": null}], "e": {}});
        assert!(config_diff(&a, &a.clone()).is_empty());
    }
}
