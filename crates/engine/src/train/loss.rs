//! Cross-entropy with an ignore index: the loss of classification heads and of causal-LM training
//! where only response tokens count.
//!
//! Labels equal to [`IGNORE_INDEX`] (-100, PyTorch's convention) contribute nothing; the loss is the
//! mean over the labels that count, and that count is returned so gradient accumulation can weight
//! micro-batches exactly. Built from `log_softmax` and `gather`, both differentiable in candle.

use candle_core::{DType, Tensor, D};

use crate::{EngineError, Result};

/// The label that masks a position out of the loss.
pub const IGNORE_INDEX: i64 = -100;

/// A mean loss and the number of labels it averages over.
#[derive(Debug, Clone)]
pub struct MaskedLoss {
    /// The scalar mean loss (zero when nothing counts).
    pub loss: Tensor,
    /// How many labels counted.
    pub count: usize,
}

/// Cross-entropy of `logits` (`(..., classes)`) against `labels` (the same leading shape, integer
/// class ids or [`IGNORE_INDEX`]).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<MaskedLoss> {
    let classes = logits.dim(D::Minus1)?;
    let logits = logits.reshape(((), classes))?;
    let labels = labels.flatten_all()?.to_dtype(DType::I64)?;
    if labels.dim(0)? != logits.dim(0)? {
        return Err(EngineError::Training(format!(
            "cross-entropy got {} labels for {} rows of logits",
            labels.dim(0)?,
            logits.dim(0)?
        )));
    }
    let host: Vec<i64> = labels.to_vec1()?;
    let mut count = 0usize;
    for &l in &host {
        if l == IGNORE_INDEX {
            continue;
        }
        if l < 0 || l as usize >= classes {
            return Err(EngineError::Training(format!(
                "label {l} is outside the {classes} classes of the model's output"
            )));
        }
        count += 1;
    }
    if count == 0 {
        // Keep the graph connected so backward is harmless, but contribute nothing.
        let zero = (logits.sum_all()? * 0.0)?;
        return Ok(MaskedLoss { loss: zero, count });
    }
    let mask_host: Vec<f32> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0.0 } else { 1.0 })
        .collect();
    let safe_host: Vec<i64> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0 } else { l })
        .collect();
    let dev = logits.device();
    let mask = Tensor::new(mask_host, dev)?.to_dtype(logits.dtype())?;
    let safe = Tensor::new(safe_host, dev)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
    let loss = ((picked * mask)?.sum_all()? * (-1.0 / count as f64))?;
    Ok(MaskedLoss { loss, count })
}

/// Shifts causal-LM logits and labels by one position so position `t` predicts token `t + 1`:
/// returns `(logits[:, :-1], labels[:, 1:])`.
pub fn shift_for_next_token(logits: &Tensor, labels: &Tensor) -> Result<(Tensor, Tensor)> {
    let t = logits.dim(1)?;
    if t < 2 {
        return Err(EngineError::Training(
            "a sequence needs at least two tokens to learn the next one".into(),
        ));
    }
    Ok((logits.narrow(1, 0, t - 1)?, labels.narrow(1, 1, t - 1)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn the_loss_equals_candle_cross_entropy_when_nothing_is_ignored() {
        let dev = Device::Cpu;
        let logits = Tensor::new(&[[1.0f32, 2.0, 0.5], [0.1, -1.0, 3.0]], &dev).unwrap();
        let labels = Tensor::new(&[1i64, 2], &dev).unwrap();
        let ours = cross_entropy(&logits, &labels).unwrap();
        let theirs =
            candle_nn::loss::cross_entropy(&logits, &labels.to_dtype(DType::U32).unwrap()).unwrap();
        assert_eq!(ours.count, 2);
        let (a, b) = (
            ours.loss.to_scalar::<f32>().unwrap(),
            theirs.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn ignored_labels_contribute_neither_loss_nor_gradient() {
        let dev = Device::Cpu;
        let v = Var::new(&[[1.0f32, 2.0, 0.5], [0.1, -1.0, 3.0]], &dev).unwrap();
        let labels = Tensor::new(&[1i64, IGNORE_INDEX], &dev).unwrap();
        let l = cross_entropy(v.as_tensor(), &labels).unwrap();
        assert_eq!(l.count, 1);
        // -log softmax([1, 2, 0.5])[1]
        let expected = -(2f32 - (1f32.exp() + 2f32.exp() + 0.5f32.exp()).ln());
        assert!((l.loss.to_scalar::<f32>().unwrap() - expected).abs() < 1e-6);
        let grads = l.loss.backward().unwrap();
        let g: Vec<Vec<f32>> = grads.get(v.as_tensor()).unwrap().to_vec2().unwrap();
        assert_eq!(g[1], vec![0.0, 0.0, 0.0]);
        assert!(g[0][1] < 0.0);
    }

    #[test]
    fn a_batch_with_no_counted_label_has_zero_loss() {
        let dev = Device::Cpu;
        let logits = Tensor::zeros((2, 4), DType::F32, &dev).unwrap();
        let labels = Tensor::new(&[IGNORE_INDEX, IGNORE_INDEX], &dev).unwrap();
        let l = cross_entropy(&logits, &labels).unwrap();
        assert_eq!(l.count, 0);
        assert_eq!(l.loss.to_scalar::<f32>().unwrap(), 0.0);
    }

    #[test]
    fn an_out_of_range_label_is_a_clear_error() {
        let dev = Device::Cpu;
        let logits = Tensor::zeros((1, 2), DType::F32, &dev).unwrap();
        let err = cross_entropy(&logits, &Tensor::new(&[5i64], &dev).unwrap()).unwrap_err();
        assert!(err.to_string().contains("outside the 2 classes"), "{err}");
    }

    #[test]
    fn three_dimensional_logits_are_flattened_and_shifted() {
        let dev = Device::Cpu;
        let logits = Tensor::randn(0f32, 1.0, (2, 5, 7), &dev).unwrap();
        let labels = Tensor::new(
            &[
                [IGNORE_INDEX, IGNORE_INDEX, 3, 4, IGNORE_INDEX],
                [IGNORE_INDEX, 1, 2, 6, 0],
            ],
            &dev,
        )
        .unwrap();
        let (l, y) = shift_for_next_token(&logits, &labels).unwrap();
        assert_eq!(l.dims(), &[2, 4, 7]);
        assert_eq!(cross_entropy(&l, &y).unwrap().count, 6);
    }
}
