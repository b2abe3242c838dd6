//! Putting a run's saved weights back: every trainable variable of a freshly loaded model set from
//! a training checkpoint (saved as `w.<name>`), refusing one of another model or method.

use std::path::Path;

use candle_core::{Device, Var};
use tunesmith_engine::train::checkpoint::load_tensors;
use tunesmith_engine::EngineError;

use crate::{Error, Result};

/// Sets every variable of `trainable` from the checkpoint at `path`.
pub(crate) fn restore(trainable: &[(String, Var)], path: &Path, device: &Device) -> Result<()> {
    let (tensors, _) = load_tensors(path, device)?;
    for (name, var) in trainable {
        let t = tensors.get(&format!("w.{name}")).ok_or_else(|| {
            Error::invalid(format!(
                "{} has no weights for `{name}`: it belongs to a different model or method",
                path.display()
            ))
        })?;
        if t.dims() != var.dims() {
            return Err(Error::invalid(format!(
                "{}: the weights `{name}` have shape {:?}, the model expects {:?}",
                path.display(),
                t.dims(),
                var.dims()
            )));
        }
        t.to_dtype(var.dtype())
            .and_then(|t| var.set(&t))
            .map_err(EngineError::from)?;
    }
    Ok(())
}
