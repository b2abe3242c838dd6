//! **For tests only.** A deterministic embedder that hashes words into buckets: it matches shared
//! words, not meanings, and needs no model, so retrieval, fusion and incremental indexing can be
//! tested offline. It is never offered to users as an embedding model.

use crate::embed::Embedder;
use crate::error::Result;

/// A hashed bag of lower-cased words (with a crude plural strip), `dimension` buckets.
#[derive(Debug, Clone, Copy)]
pub struct HashedBagOfWords {
    /// The number of buckets.
    pub dimension: usize,
}

impl Default for HashedBagOfWords {
    fn default() -> Self {
        HashedBagOfWords { dimension: 256 }
    }
}

impl Embedder for HashedBagOfWords {
    fn model_id(&self) -> String {
        format!("test:hashed-bag-of-words-{}", self.dimension)
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

impl HashedBagOfWords {
    fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension.max(1)];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            let w = word.to_lowercase();
            let w = w.strip_suffix('s').filter(|s| s.len() > 2).unwrap_or(&w);
            let h = fnv1a(w.as_bytes());
            let sign = if h & (1 << 63) == 0 { 1.0 } else { -1.0 };
            let bucket = (h % v.len() as u64) as usize;
            v[bucket] += sign;
        }
        v
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_words_make_texts_close_and_the_result_is_deterministic() {
        let e = HashedBagOfWords::default();
        let v = e
            .embed(&["refund policy", "the refunds policy", "parking garage"])
            .unwrap();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]));
        assert_eq!(
            v,
            e.embed(&["refund policy", "the refunds policy", "parking garage"])
                .unwrap()
        );
    }
}
