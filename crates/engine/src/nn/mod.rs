//! Neural-network building blocks shared by every model, all differentiable end to end.
//!
//! candle's fused kernels (`softmax_last_dim`, `layer_norm`, `rms_norm`, `rope`) have no backward
//! pass and cut gradients silently, so nothing in here uses them on a path that trains; our own
//! fused ops (`fused`, `frozen`) are candle custom ops that carry their backward.
//!
//! - `attention`: scaled dot-product attention as one op whose backward recomputes the scores
//!   block by block (`attention_cpu` holds its CPU kernels); `precomputed` attaches a forward
//!   computed with tensor operations to a custom op (GPU paths, checkpointing).
//! - `checkpoint`: activation checkpointing, a transformer block recomputed in the backward.
//! - `linear`: the one linear-like layer every model uses (frozen, trainable, LoRA, quantised base).
//! - `lora_linear`: a frozen base plus its LoRA update as one op that keeps only the input and the
//!   rank-r projection for the backward.
//! - `params`: where each parameter comes from (frozen checkpoint or trainable `VarMap`) by method.
//! - `dropout`: dropout with masks from the run's seeded generator (reproducible, resumable).
//! - `frozen`: a linear layer over a frozen weight whose backward computes the input's gradient only.
//! - `fused`: RMSNorm, LayerNorm, SiLU-times-gate and GELU as single ops with analytic backwards.
//! - `layer_norm`: LayerNorm from elementary ops.
//! - `ops`: differentiable softmax, GELU, attention masks and pooling helpers.
//! - `rms_norm`, `rope`: RMSNorm and rotary embeddings for decoders, from differentiable ops.
//! - `quantized`: a quantised frozen linear base (QLoRA) whose gradient reaches its input.

pub mod attention;
pub mod attention_cpu;
pub mod checkpoint;
pub mod dropout;
pub mod frozen;
pub mod fused;
pub mod layer_norm;
pub mod linear;
pub mod lora_linear;
pub mod ops;
pub mod params;
pub mod precomputed;
pub mod quantized;
pub mod rms_norm;
pub mod rope;
