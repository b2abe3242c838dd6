//! Parameter-efficient adapters on top of frozen models.
//!
//! - `lora`: LoRA's configuration and its low-rank update, with PEFT's semantics.
//! - `peft`: reading and writing adapters in PEFT's file layout, and merging them into the base.

pub mod lora;
pub mod peft;
