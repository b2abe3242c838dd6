//! From the user's [`Precision`] choice to the dtype a model computes in on a device.
//!
//! `auto` is bf16 mixed precision on a CUDA GPU that has bf16 matrix units (compute capability 8.0
//! and up: Ampere, Ada, Hopper; the H200 this was written for is 9.0) and f32 elsewhere: a CPU has
//! no bf16 matrix kernel (candle widens bf16 to f32 around every product, so bf16 would only be
//! slower), Metal's bf16 has not been measured here, and an older GPU (Turing, Volta) gets f32, not
//! f16: f16 mixed precision needs loss scaling, which the trainer does not do, or small gradients
//! underflow to zero and the run silently learns less. An explicit `bf16` is honoured everywhere.
//!
//! What the dtype governs (see `nn::params`): frozen weights are loaded in it and activations flow
//! in it; trainable parameters stay f32 master copies, cast where they are used; norms, softmax
//! and the losses accumulate in f32.

use candle_core::{DType, Device};

pub use tunesmith_vocab::Precision;

/// The dtype a model computes in on `device` under `precision`.
pub fn compute_dtype(precision: Precision, device: &Device) -> DType {
    match precision {
        Precision::F32 => DType::F32,
        Precision::Bf16 => DType::BF16,
        Precision::Auto if has_bf16_matrix_units(device) => DType::BF16,
        Precision::Auto => DType::F32,
    }
}

/// Whether `device` is a CUDA GPU of compute capability 8.0 or newer (one that cannot say is taken
/// to be one: the driver answered when the device was opened).
fn has_bf16_matrix_units(device: &Device) -> bool {
    #[cfg(feature = "cuda")]
    if let Device::Cuda(gpu) = device {
        return gpu
            .cuda_stream()
            .context()
            .compute_capability()
            .map_or(true, |(major, _)| major >= 8);
    }
    let _ = device;
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_f32_on_the_cpu_and_an_explicit_choice_is_kept() {
        let cpu = Device::Cpu;
        assert_eq!(compute_dtype(Precision::Auto, &cpu), DType::F32);
        assert_eq!(compute_dtype(Precision::F32, &cpu), DType::F32);
        assert_eq!(compute_dtype(Precision::Bf16, &cpu), DType::BF16);
    }
}
