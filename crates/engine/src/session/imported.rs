//! Weights trained elsewhere (a distributed trainer's output) put where a run keeps them: as a
//! training checkpoint (`w.<name>` entries), which evaluation, prediction and chat restore as a
//! local run's ([`super::restore_trainable`]).
//!
//! Promises: every tensor is checked before anything is written (a file that cannot be read, a
//! weight the run's model trains that is missing or of another shape, a LoRA factor of a module
//! the run does not adapt are [`EngineError::Invalid`] naming the folder and the weight), and the
//! checkpoint is written whole or not at all (written beside, then renamed).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};

use crate::adapters::peft::PeftAdapter;
use crate::train::checkpoint::save_tensors;
use crate::{EngineError, Result};

/// What a trainer left: a PEFT adapter (its factors and any whole modules it saves), or model
/// files (`*.safetensors`) with every weight.
#[derive(Debug, Clone, Copy)]
pub enum TrainedWeights<'a> {
    /// A loaded PEFT adapter.
    Adapter(&'a PeftAdapter),
    /// Safetensors files.
    Files(&'a [PathBuf]),
}

/// Every tensor of the safetensors `files`, by name, as stored.
fn read_files(files: &[PathBuf]) -> Result<HashMap<String, Tensor>> {
    let mut tensors = HashMap::new();
    for f in files {
        let loaded = candle_core::safetensors::load(f, &Device::Cpu)
            .map_err(|e| EngineError::Invalid(format!("{} cannot be read: {e}", f.display())))?;
        tensors.extend(loaded);
    }
    Ok(tensors)
}

/// A whole model's safetensors `files` as the training checkpoint `checkpoint` (its folder made
/// when new, once every file is read): every tensor saved as `w.<name>` (a full fine-tune of a decoder, restored onto its base's variables).
pub fn model_files_as_checkpoint(files: &[PathBuf], checkpoint: &Path) -> Result<()> {
    let tensors: Vec<(String, Tensor)> = read_files(files)?
        .into_iter()
        .map(|(k, t)| (format!("w.{k}"), t))
        .collect();
    save_in_new_folder(checkpoint, &tensors)
}

/// Saves `tensors` at `checkpoint`, its folder made first if it is new.
fn save_in_new_folder(checkpoint: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    if let Some(folder) = checkpoint.parent() {
        std::fs::create_dir_all(folder).map_err(|e| {
            EngineError::Invalid(format!("cannot create {}: {e}", folder.display()))
        })?;
    }
    save_tensors(checkpoint, tensors, HashMap::new())
}

/// The weights a model trains (`trainable`, as its task names them) taken from `weights`, found in
/// `dir`, and saved as the training checkpoint `checkpoint` in f32 (its folder made when new, once
/// every weight is found). A name matches the same name
/// or one that differs only by a leading model prefix (`bert.`), in either direction.
pub fn trainable_as_checkpoint(
    weights: TrainedWeights,
    dir: &Path,
    trainable: &[(String, Var)],
    checkpoint: &Path,
) -> Result<()> {
    let tensors: HashMap<String, Tensor> = match weights {
        TrainedWeights::Adapter(a) => {
            let mut t = HashMap::new();
            for (m, (a_, b_)) in &a.factors {
                t.insert(format!("{m}.lora_A.weight"), a_.clone());
                t.insert(format!("{m}.lora_B.weight"), b_.clone());
            }
            t.extend(a.saved.clone());
            t
        }
        TrainedWeights::Files(files) => read_files(files)?,
    };
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    let mut missing = Vec::new();
    for (name, var) in trainable {
        match matching(&tensors, name) {
            Some(key) => {
                let t = &tensors[&key];
                if t.dims() != var.dims() {
                    return Err(EngineError::Invalid(format!(
                        "{}: `{key}` has shape {:?}, the run's model expects {:?} for `{name}`; the weights belong to another model",
                        dir.display(),
                        t.dims(),
                        var.dims()
                    )));
                }
                out.push((format!("w.{name}"), t.to_dtype(DType::F32)?));
                used.insert(key);
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(EngineError::Invalid(format!(
            "{} lacks weights the run's model trains ({}{}); the trainer adapted other modules than the job says (was train_config.json edited?)",
            dir.display(),
            missing.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
            if missing.len() > 4 { ", ..." } else { "" }
        )));
    }
    let extra: Vec<&String> = tensors
        .keys()
        .filter(|k| k.contains(".lora_") && !used.contains(*k))
        .collect();
    if let Some(k) = extra.first() {
        return Err(EngineError::Invalid(format!(
            "{} adapts modules the job's run does not (e.g. `{k}`); the trainer was given other target modules",
            dir.display()
        )));
    }
    save_in_new_folder(checkpoint, &out)
}

/// The imported tensor for the run's trainable `name`: the same name, or one that differs only by
/// a leading model prefix (`bert.`), in either direction.
fn matching(tensors: &HashMap<String, Tensor>, name: &str) -> Option<String> {
    if tensors.contains_key(name) {
        return Some(name.to_string());
    }
    let mut found = tensors
        .keys()
        .filter(|k| k.ends_with(&format!(".{name}")) || name.ends_with(&format!(".{k}")));
    let first = found.next()?.clone();
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::checkpoint::load_tensors;

    fn file(dir: &Path, tensors: &[(&str, &[f32])]) -> PathBuf {
        let path = dir.join("model.safetensors");
        let named: Vec<(String, Tensor)> = tensors
            .iter()
            .map(|(n, v)| (n.to_string(), Tensor::new(*v, &Device::Cpu).unwrap()))
            .collect();
        save_tensors(&path, &named, HashMap::new()).unwrap();
        path
    }

    #[test]
    fn trained_weights_become_a_checkpoint_by_name_with_or_without_a_model_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let files = [file(
            dir.path(),
            &[
                ("bert.pooler.dense.bias", &[1.0, 2.0]),
                ("classifier.bias", &[3.0]),
            ],
        )];
        let trainable = [
            (
                "pooler.dense.bias".to_string(),
                Var::zeros(2, DType::F32, &Device::Cpu).unwrap(),
            ),
            (
                "classifier.bias".to_string(),
                Var::zeros(1, DType::F32, &Device::Cpu).unwrap(),
            ),
        ];
        let ckpt = dir.path().join("best.safetensors");
        trainable_as_checkpoint(TrainedWeights::Files(&files), dir.path(), &trainable, &ckpt)
            .unwrap();
        let (saved, _) = load_tensors(&ckpt, &Device::Cpu).unwrap();
        assert_eq!(
            saved["w.pooler.dense.bias"].to_vec1::<f32>().unwrap(),
            vec![1.0, 2.0]
        );
        assert_eq!(
            saved["w.classifier.bias"].to_vec1::<f32>().unwrap(),
            vec![3.0]
        );

        let whole = dir.path().join("whole.safetensors");
        model_files_as_checkpoint(&files, &whole).unwrap();
        let (saved, _) = load_tensors(&whole, &Device::Cpu).unwrap();
        assert!(saved.contains_key("w.bert.pooler.dense.bias"));
    }

    #[test]
    fn a_missing_or_misshapen_weight_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = [file(dir.path(), &[("classifier.bias", &[3.0, 4.0])])];
        let ckpt = dir.path().join("checkpoints").join("best.safetensors");
        let narrow = [(
            "classifier.bias".to_string(),
            Var::zeros(1, DType::F32, &Device::Cpu).unwrap(),
        )];
        let err =
            trainable_as_checkpoint(TrainedWeights::Files(&files), dir.path(), &narrow, &ckpt)
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("has shape [2]") && err.contains("another model"),
            "{err}"
        );
        let other = [(
            "classifier.weight".to_string(),
            Var::zeros(1, DType::F32, &Device::Cpu).unwrap(),
        )];
        let err = trainable_as_checkpoint(TrainedWeights::Files(&files), dir.path(), &other, &ckpt)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lacks weights") && err.contains("classifier.weight"),
            "{err}"
        );
        assert!(!ckpt.parent().unwrap().exists(), "nothing written");
        let unreadable = dir.path().join("broken.safetensors");
        std::fs::write(&unreadable, b"not tensors").unwrap();
        let err = model_files_as_checkpoint(&[unreadable], &ckpt)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broken.safetensors cannot be read"), "{err}");
    }
}
