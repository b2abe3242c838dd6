//! The GPU the CUDA-vs-CPU tests compare against (`tests/*_cuda.rs`, each its own test binary,
//! each including this module), or `None`, after saying so, where none is found: the tests then
//! skip, so they pass on a machine without a GPU and CI builds them all the same.

use candle_core::Device;

/// CUDA device 0, or `None` with a message.
pub fn gpu() -> Option<Device> {
    match Device::new_cuda(0) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("no CUDA device ({e}); skipping");
            None
        }
    }
}
