//! The files of a job that are not data: the training scripts and launcher configs (fixed text,
//! compiled in from `src/job/templates/`), the Axolotl YAML and the README (rendered from the
//! run's settings).
//!
//! The scripts hold no setting of their own: they read `train_config.json`, so what a run trains
//! with is in one file, written from [`super::settings`]. Placeholders in the README and the Slurm
//! script are `{{name}}`, replaced by [`render`]; an unknown one is left visible rather than
//! silently emptied.

use serde_json::Value;

/// TRL `SFTTrainer` for generation.
pub const TRAIN_GENERATE: &str = include_str!("templates/train_generate.py");
/// transformers `Trainer` + PEFT `SEQ_CLS` for classification.
pub const TRAIN_CLASSIFY: &str = include_str!("templates/train_classify.py");
/// The README, rendered.
pub const README: &str = include_str!("templates/README.md");
/// The Slurm batch script, rendered.
pub const SLURM: &str = include_str!("templates/slurm.sbatch");

/// Accelerate's configs (and DeepSpeed's), written under `accelerate/` as they are.
pub const ACCELERATE: [(&str, &str); 5] = [
    (
        "accelerate/single_gpu.yaml",
        include_str!("templates/accelerate/single_gpu.yaml"),
    ),
    (
        "accelerate/multi_gpu.yaml",
        include_str!("templates/accelerate/multi_gpu.yaml"),
    ),
    (
        "accelerate/multi_node_fsdp.yaml",
        include_str!("templates/accelerate/multi_node_fsdp.yaml"),
    ),
    (
        "accelerate/deepspeed_zero3.yaml",
        include_str!("templates/accelerate/deepspeed_zero3.yaml"),
    ),
    (
        "accelerate/ds_zero3.json",
        include_str!("templates/accelerate/ds_zero3.json"),
    ),
];

/// `template` with each `{{name}}` of `vars` replaced by its value.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// The Axolotl config: the mapped settings (one `key: value` line each; values are written as
/// JSON, which YAML reads as the same scalars, lists and quoted strings) and the datasets.
pub fn axolotl_yaml(run_id: &str, config: &Value, has_validation: bool) -> String {
    let mut out = format!(
        "# Tunesmith job {run_id} for Axolotl: every setting is the run's (see README.md).\n\
         # Launch from this folder: `axolotl train axolotl.yaml`.\n"
    );
    if let Value::Object(m) = config {
        for (k, v) in m {
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    out.push_str(
        "datasets:\n  - path: data/train.jsonl\n    ds_type: json\n    type: chat_template\n    field_messages: messages\n    roles_to_train: [\"assistant\"]\n    train_on_eos: turn\n",
    );
    if has_validation {
        out.push_str(
            "test_datasets:\n  - path: data/validation.jsonl\n    ds_type: json\n    split: train\n    type: chat_template\n    field_messages: messages\n    roles_to_train: [\"assistant\"]\n    train_on_eos: turn\n",
        );
    }
    out.push_str("val_set_size: 0\nsample_packing: false\ndataset_prepared_path: ./output/prepared\nlogging_steps: 1\nsave_total_limit: 2\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_stay_visible() {
        let s = render("run {{run_id}} on {{other}}", &[("run_id", "r1".into())]);
        assert_eq!(s, "run r1 on {{other}}");
    }

    #[test]
    fn the_scripts_read_every_setting_from_the_config_file() {
        for script in [TRAIN_GENERATE, TRAIN_CLASSIFY] {
            assert!(script.contains("train_config.json"));
            assert!(script.contains("CFG[\"training_arguments\"]"));
            assert!(script.contains("global_batch_size"));
        }
    }
}
