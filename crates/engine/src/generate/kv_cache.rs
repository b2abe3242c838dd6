//! The key/value cache: each layer's keys and values of the tokens seen so far, so that generating one
//! more token costs one position's work instead of the whole sequence's.
//!
//! Each layer owns one preallocated buffer per side, `[batch, kv_heads, capacity, head_dim]` in the
//! dtype and on the device of the keys it is first given; a step's keys and values are written in
//! place at the current length (`slice_set`: one copy kernel, no allocation), and attention reads the
//! filled prefix as a view (`narrow`: no copy). A step that does not fit grows the buffer by at least
//! [`GROWTH_CHUNK`] positions (and at least half its size, so growth stays amortised), copying the
//! prefix once. The first buffer is sized by [`KvCache::reserve`] (generation reserves prompt +
//! `max_new_tokens`, capped by the model's context), never by the model's whole context up front: a
//! 128k-context model must not allocate 128k positions for a short answer.
//!
//! The in-place writes are outside candle's autograd graph: the cache is for inference; no gradient
//! flows through cached keys and values.

use candle_core::Tensor;

use crate::{EngineError, Result};

/// The smallest number of positions a buffer grows by.
pub const GROWTH_CHUNK: usize = 256;

/// One layer's buffers, `[batch, kv_heads, capacity, head_dim]`.
#[derive(Debug, Clone)]
struct LayerBuffers {
    k: Tensor,
    v: Tensor,
}

impl LayerBuffers {
    fn capacity(&self) -> usize {
        self.k.dims()[2]
    }
}

/// Per-layer preallocated keys and values and the cached length.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<LayerBuffers>>,
    len: usize,
    reserved: usize,
}

impl KvCache {
    /// An empty cache for `layers` layers (buffers are allocated on the first append).
    pub fn new(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
            len: 0,
            reserved: 0,
        }
    }

    /// Asks the first allocation to hold at least `positions` positions (the prompt plus the
    /// answer), so that generation never grows the buffers. Buffers already allocated are kept.
    pub fn reserve(&mut self, positions: usize) {
        self.reserved = self.reserved.max(positions);
    }

    /// How many positions are cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions layer `layer`'s buffers hold before they must grow (0 before its first append).
    pub fn capacity(&self, layer: usize) -> usize {
        self.layers
            .get(layer)
            .and_then(|l| l.as_ref())
            .map_or(0, LayerBuffers::capacity)
    }

    /// Forgets everything (a new conversation) and frees the buffers.
    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.len = 0;
    }

    /// Writes this step's keys and values (`[batch, kv_heads, seq, head_dim]`) of `layer` after the
    /// cached positions and returns views of the whole sequence's, `[batch, kv_heads, len + seq,
    /// head_dim]` (not contiguous when the buffer has room left). Every layer appends the same `seq`
    /// positions before [`Self::advance`] records them.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let len = self.len;
        let reserved = self.reserved;
        let slot = self
            .layers
            .get_mut(layer)
            .ok_or_else(|| EngineError::Invalid(format!("the KV cache has no layer {layer}")))?;
        let (b, kvh, t, d) = k.dims4()?;
        if v.dims() != k.dims() || v.dtype() != k.dtype() {
            return Err(EngineError::Invalid(format!(
                "the KV cache needs keys and values of one shape and dtype; got {:?} {:?} and {:?} {:?}",
                k.dims(),
                k.dtype(),
                v.dims(),
                v.dtype()
            )));
        }
        let needed = len + t;
        // The slot is replaced only once the new buffers exist: a refused step leaves the cache as
        // it was.
        let buffers = match slot.as_ref() {
            None => {
                let capacity = reserved.max(needed).max(1);
                let zeros = || Tensor::zeros((b, kvh, capacity, d), k.dtype(), k.device());
                LayerBuffers {
                    k: zeros()?,
                    v: zeros()?,
                }
            }
            Some(old) => {
                let have = old.k.dims();
                if have[0] != b || have[1] != kvh || have[3] != d || old.k.dtype() != k.dtype() {
                    return Err(EngineError::Invalid(format!(
                        "layer {layer}'s KV cache holds {:?} {:?} but this step brings {:?} {:?}; \
                         clear the cache before changing the batch or the model",
                        have,
                        old.k.dtype(),
                        k.dims(),
                        k.dtype()
                    )));
                }
                if needed <= old.capacity() {
                    old.clone()
                } else {
                    let capacity = needed
                        .max(old.capacity() + old.capacity() / 2)
                        .max(old.capacity() + GROWTH_CHUNK);
                    LayerBuffers {
                        k: grown(&old.k, len, capacity)?,
                        v: grown(&old.v, len, capacity)?,
                    }
                }
            }
        };
        *slot = Some(buffers.clone());
        buffers.k.slice_set(&k.contiguous()?, 2, len)?;
        buffers.v.slice_set(&v.contiguous()?, 2, len)?;
        Ok((
            buffers.k.narrow(2, 0, needed)?,
            buffers.v.narrow(2, 0, needed)?,
        ))
    }

    /// Records that `n` more positions were appended to every layer.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }
}

/// A fresh contiguous buffer of `capacity` positions holding `old`'s first `len`.
fn grown(old: &Tensor, len: usize, capacity: usize) -> Result<Tensor> {
    let (b, kvh, _, d) = old.dims4()?;
    let rest = Tensor::zeros((b, kvh, capacity - len, d), old.dtype(), old.device())?;
    if len == 0 {
        return Ok(rest);
    }
    Ok(Tensor::cat(&[&old.narrow(2, 0, len)?, &rest], 2)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn step(seed: f32, t: usize) -> Tensor {
        Tensor::arange(0f32, (2 * 3 * t * 4) as f32, &Device::Cpu)
            .and_then(|x| x.affine(1.0, seed as f64))
            .and_then(|x| x.reshape((2, 3, t, 4)))
            .expect("tensor")
    }

    fn appended_by_cat(steps: &[Tensor]) -> Tensor {
        Tensor::cat(steps, 2).expect("cat")
    }

    #[test]
    fn appending_returns_what_concatenation_would_through_growth() -> Result<()> {
        let mut cache = KvCache::new(1);
        cache.reserve(3);
        let mut ks = Vec::new();
        // 3 fits the reservation; 2 more forces a growth; then many single steps.
        for (n, t) in [3usize, 2, 1, 1, 300, 1].into_iter().enumerate() {
            let k = step(n as f32 * 1000.0, t);
            let v = (k.clone() * -1.0)?;
            let (kc, vc) = cache.append(0, &k, &v)?;
            cache.advance(t);
            ks.push(k);
            let want = appended_by_cat(&ks);
            assert_eq!(kc.dims(), want.dims());
            let diff = (kc - &want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let vdiff = (vc + &want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert_eq!((diff, vdiff), (0.0, 0.0), "after step {n}");
        }
        assert_eq!(cache.len(), 308);
        assert!(cache.capacity(0) >= 308);
        Ok(())
    }

    #[test]
    fn the_first_buffer_holds_the_reservation_and_is_not_regrown() -> Result<()> {
        let mut cache = KvCache::new(2);
        cache.reserve(40);
        for _ in 0..40 {
            for layer in 0..2 {
                let k = step(1.0, 1);
                cache.append(layer, &k, &k)?;
            }
            cache.advance(1);
        }
        assert_eq!((cache.capacity(0), cache.capacity(1)), (40, 40));
        Ok(())
    }

    #[test]
    fn an_earlier_view_keeps_its_values_after_later_appends() -> Result<()> {
        let mut cache = KvCache::new(1);
        cache.reserve(8);
        let first = step(5.0, 2);
        let (view, _) = cache.append(0, &first, &first)?;
        cache.advance(2);
        let later = step(9.0, 3);
        cache.append(0, &later, &later)?;
        let diff = (view - &first)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert_eq!(diff, 0.0);
        Ok(())
    }

    #[test]
    fn a_step_of_another_shape_or_dtype_is_refused_with_a_reason() -> Result<()> {
        let mut cache = KvCache::new(1);
        let k = step(0.0, 1);
        cache.append(0, &k, &k)?;
        cache.advance(1);
        let other = Tensor::zeros((1, 3, 1, 4), DType::F32, &Device::Cpu)?;
        let err = cache.append(0, &other, &other).unwrap_err().to_string();
        assert!(err.contains("clear the cache"), "{err}");
        let half = k.to_dtype(DType::F16)?;
        assert!(cache.append(0, &half, &half).is_err());
        // The refused steps left the cached position in place.
        assert_eq!(cache.capacity(0), 1);
        let (kc, _) = cache.append(0, &k, &k)?;
        assert_eq!(kc.dims(), [2, 3, 2, 4]);
        assert!(cache
            .append(3, &k, &k)
            .unwrap_err()
            .to_string()
            .contains("no layer 3"));
        Ok(())
    }

    #[test]
    fn clearing_frees_the_buffers_and_starts_over() -> Result<()> {
        let mut cache = KvCache::new(1);
        let k = step(0.0, 4);
        cache.append(0, &k, &k)?;
        cache.advance(4);
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(cache.capacity(0), 0);
        let (kc, _) = cache.append(0, &k, &k)?;
        assert_eq!(kc.dims(), [2, 3, 4, 4]);
        Ok(())
    }
}
