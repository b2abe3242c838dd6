//! From the user's [`Precision`] choice to the dtype a model computes in on a device.
//!
//! `auto` is bf16 mixed precision on CUDA (every GPU since Ampere has bf16 matrix units; the
//! H200 this was written for does) and f32 elsewhere: a CPU has no bf16 matrix kernel (candle
//! widens bf16 to f32 around every product, so bf16 would only be slower), and Metal's bf16 has not
//! been measured here. An explicit `bf16` is honoured on every device.
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
        Precision::Auto if device.is_cuda() => DType::BF16,
        Precision::Auto => DType::F32,
    }
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
