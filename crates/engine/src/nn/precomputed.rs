//! A value computed outside candle's graph, handed to a custom op as its forward result.
//!
//! candle's custom ops ([`candle_core::CustomOp1`] ...) compute their forward per device
//! (`cpu_fwd`, `cuda_fwd`, `metal_fwd`) on raw storage, while their backward (`bwd`) works on
//! tensors. An op whose forward is easiest to write with ordinary tensor operations (so that it runs
//! on every device: the blockwise attention on a GPU, a recomputed transformer block) computes that
//! value first, on detached inputs, and parks it here; the op's per-device forward then returns a
//! copy of the parked storage. The result is an ordinary tensor carrying the op's backward.
//!
//! Promise: [`Precomputed::storage_for`] returns the parked value's storage on the device asked for,
//! or a clear error when the value is missing or lives on another device (a bug, never user input).

use std::sync::Mutex;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CudaStorage, MetalStorage, Shape, Storage, Tensor};

/// One parked forward result, taken by the op's forward.
#[derive(Debug, Default)]
pub struct Precomputed(Mutex<Option<Tensor>>);

impl Precomputed {
    /// Nothing parked (the op computes its forward itself).
    pub fn empty() -> Self {
        Self(Mutex::new(None))
    }

    /// Parks `value` (made contiguous from offset 0, so its storage reads as its shape).
    pub fn new(value: Tensor) -> candle_core::Result<Self> {
        let value = if value.is_contiguous() && value.layout().start_offset() == 0 {
            value
        } else {
            value.copy()?
        };
        Ok(Self(Mutex::new(Some(value))))
    }

    /// Whether a value is parked.
    pub fn is_set(&self) -> bool {
        self.0.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    fn take(&self, op: &str) -> candle_core::Result<Tensor> {
        self.0
            .lock()
            .map_err(|_| candle_core::Error::Msg(format!("{op}: a poisoned lock")))?
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg(format!("{op}: no precomputed forward value to attach"))
            })
    }

    /// The parked value's storage and shape, taken out (a second call errors).
    pub fn storage_for<S: FromStorage>(&self, op: &str) -> candle_core::Result<(S, Shape)> {
        let t = self.take(op)?;
        let (storage, layout) = t.storage_and_layout();
        let s = S::from_storage(&storage, layout, op)?;
        Ok((s, t.shape().clone()))
    }
}

/// The backend storage of one device, cloned out of a [`Storage`].
pub trait FromStorage: Sized {
    /// A copy of `storage` if it lives on this backend's device.
    fn from_storage(
        storage: &Storage,
        layout: &candle_core::Layout,
        op: &str,
    ) -> candle_core::Result<Self>;
}

fn wrong_device(op: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "{op}: the precomputed value lives on another device than the op's inputs"
    ))
}

impl FromStorage for CpuStorage {
    fn from_storage(s: &Storage, l: &candle_core::Layout, op: &str) -> candle_core::Result<Self> {
        match s {
            Storage::Cpu(c) => c.try_clone(l),
            _ => Err(wrong_device(op)),
        }
    }
}

impl FromStorage for CudaStorage {
    fn from_storage(s: &Storage, l: &candle_core::Layout, op: &str) -> candle_core::Result<Self> {
        match s {
            Storage::Cuda(c) => c.try_clone(l),
            _ => Err(wrong_device(op)),
        }
    }
}

impl FromStorage for MetalStorage {
    fn from_storage(s: &Storage, l: &candle_core::Layout, op: &str) -> candle_core::Result<Self> {
        match s {
            Storage::Metal(c) => c.try_clone(l),
            _ => Err(wrong_device(op)),
        }
    }
}
