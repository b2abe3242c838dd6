//! The key/value cache: each layer's keys and values of the tokens seen so far, so that generating one
//! more token costs one position's work instead of the whole sequence's.

use candle_core::Tensor;

use crate::Result;

/// Per-layer keys and values (`[batch, kv_heads, seq, head_dim]`) and the cached length.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// An empty cache for `layers` layers.
    pub fn new(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
            len: 0,
        }
    }

    /// How many positions are cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything (a new conversation).
    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.len = 0;
    }

    /// Appends this step's keys and values to `layer` and returns the whole sequence's.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let slot = self.layers.get_mut(layer).ok_or_else(|| {
            crate::EngineError::Invalid(format!("the KV cache has no layer {layer}"))
        })?;
        let (k, v) = match slot.take() {
            None => (k.clone(), v.clone()),
            Some((pk, pv)) => (Tensor::cat(&[&pk, k], 2)?, Tensor::cat(&[&pv, v], 2)?),
        };
        *slot = Some((k.clone(), v.clone()));
        Ok((k, v))
    }

    /// Records that `n` more positions were appended to every layer.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }
}
