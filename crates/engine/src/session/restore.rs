//! Putting a run's saved weights back: every trainable variable of a freshly loaded model set from
//! a training checkpoint (saved as `w.<name>`), refusing one of another model or method.

use std::path::Path;

use candle_core::{Device, Var};

use crate::train::checkpoint::load_tensors;
use crate::{EngineError, Result};

/// Sets every variable of `trainable` from the checkpoint at `path`. A checkpoint that lacks one
/// of them, or holds it in another shape, is [`EngineError::Invalid`] naming the file and the
/// weights (the variables set before it keep their new values: callers drop such a model).
pub fn restore_trainable(trainable: &[(String, Var)], path: &Path, device: &Device) -> Result<()> {
    let (tensors, _) = load_tensors(path, device)?;
    for (name, var) in trainable {
        let t = tensors.get(&format!("w.{name}")).ok_or_else(|| {
            EngineError::Invalid(format!(
                "{} has no weights for `{name}`: it belongs to a different model or method",
                path.display()
            ))
        })?;
        if t.dims() != var.dims() {
            return Err(EngineError::Invalid(format!(
                "{}: the weights `{name}` have shape {:?}, the model expects {:?}",
                path.display(),
                t.dims(),
                var.dims()
            )));
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Tensor};
    use std::collections::HashMap;

    use crate::train::checkpoint::save_tensors;

    #[test]
    fn a_checkpoint_sets_every_variable_and_one_of_another_model_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("best.safetensors");
        let saved = Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
        save_tensors(&path, &[("w.head".into(), saved)], HashMap::new()).unwrap();
        let head = Var::zeros(3, DType::F32, &Device::Cpu).unwrap();
        restore_trainable(&[("head".into(), head.clone())], &path, &Device::Cpu).unwrap();
        assert_eq!(head.to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);

        let other = Var::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let err = restore_trainable(&[("lora_A".into(), other)], &path, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no weights for `lora_A`"), "{err}");
        let wide = Var::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let err = restore_trainable(&[("head".into(), wide)], &path, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shape [3]") && err.contains("[4]"), "{err}");
    }
}
