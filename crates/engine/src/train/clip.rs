//! Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_` does it.
//!
//! The norm is taken over all gradients together; when it exceeds the limit every gradient is scaled
//! by `max_norm / (norm + 1e-6)`, so the direction of the update is kept. The norm before clipping is
//! returned because it is what the user watches (`grad_norm` in step events). The training loop
//! measures it on the device ([`squared_norm`]) and reads it with the step's loss in one transfer.

use candle_core::{DType, Tensor};

use crate::Result;

/// The squared L2 norm of all `grads` taken together, as an f64 scalar on their device: no read
/// to the host, so a training step can fetch it together with its loss in one transfer.
pub fn squared_norm<'a>(grads: impl IntoIterator<Item = &'a Tensor>) -> Result<Tensor> {
    let mut sum: Option<Tensor> = None;
    for g in grads {
        // Each gradient's sum in its own dtype, the running total in f64 (as the host loop this
        // replaced did, in the same order: the same number to the last bit).
        let part = g.sqr()?.sum_all()?.to_dtype(DType::F64)?;
        sum = Some(match sum {
            Some(s) => (s + part)?,
            None => part,
        });
    }
    match sum {
        Some(s) => Ok(s),
        None => Ok(Tensor::new(0f64, &candle_core::Device::Cpu)?),
    }
}

/// The L2 norm of all `grads` taken together.
pub fn global_norm<'a>(grads: impl IntoIterator<Item = &'a Tensor>) -> Result<f64> {
    Ok(squared_norm(grads)?.to_scalar::<f64>()?.sqrt())
}

/// Scales `grads` so that their global norm, `norm` (already measured), is at most `max_norm`.
pub fn scale_to_norm(grads: &mut [Tensor], norm: f64, max_norm: f64) -> Result<()> {
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut() {
            *g = g.affine(coef, 0.0)?;
        }
    }
    Ok(())
}

/// Scales `grads` in place so their global norm is at most `max_norm`; returns the norm before
/// clipping. A non-finite norm is returned unchanged and the gradients are left as they are, so the
/// caller can report the divergence instead of silently stepping with garbage.
pub fn clip_by_global_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let norm = global_norm(grads.iter())?;
    if norm.is_finite() {
        scale_to_norm(grads, norm, max_norm)?;
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn the_global_norm_covers_all_gradients() {
        let a = Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[4f32]], &Device::Cpu).unwrap();
        assert!((global_norm([&a, &b]).unwrap() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn gradients_above_the_limit_are_scaled_to_it() {
        let mut g = vec![
            Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap(),
            Tensor::new(&[4f32], &Device::Cpu).unwrap(),
        ];
        let norm = clip_by_global_norm(&mut g, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let after = global_norm(g.iter()).unwrap();
        assert!((after - 1.0).abs() < 1e-5, "{after}");
        let v: Vec<f32> = g[0].to_vec1().unwrap();
        assert!((v[0] - 0.6).abs() < 1e-5);
    }

    #[test]
    fn gradients_below_the_limit_are_untouched() {
        let mut g = vec![Tensor::new(&[0.3f32, 0.4], &Device::Cpu).unwrap()];
        clip_by_global_norm(&mut g, 1.0).unwrap();
        assert_eq!(g[0].to_vec1::<f32>().unwrap(), vec![0.3, 0.4]);
    }
}
