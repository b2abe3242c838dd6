//! Embeddings: the [`Embedder`] trait a sentence encoder implements, and batching with progress.
//!
//! The rag crate does not know how vectors are computed (the application plugs in the engine's BERT
//! encoder); it promises that what it stores is checked (one vector per text, the declared
//! dimension, finite) and unit-length, so a dot product is the cosine similarity.

use crate::error::{RagError, Result};

/// A model that turns texts into fixed-size vectors whose closeness reflects closeness in meaning.
pub trait Embedder: Send + Sync {
    /// A stable identifier of the model (a hub id or a folder), recorded in the index: questions must
    /// be embedded by the model that embedded the passages.
    fn model_id(&self) -> String;
    /// The vectors' length.
    fn dimension(&self) -> usize;
    /// How many texts to embed in one call.
    fn batch_size(&self) -> usize {
        32
    }
    /// One vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Embeds `texts` in batches of the embedder's size, calling `progress(done, total)` after each,
/// and returns checked, unit-length vectors.
pub fn embed_batched(
    embedder: &dyn Embedder,
    texts: &[&str],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(embedder.batch_size().max(1)) {
        let vectors = embedder.embed(batch)?;
        if vectors.len() != batch.len() {
            return Err(bad(
                embedder,
                format!(
                    "it returned {} vectors for {} texts",
                    vectors.len(),
                    batch.len()
                ),
            ));
        }
        for v in vectors {
            out.push(normalised(embedder, v)?);
        }
        progress(out.len(), texts.len());
    }
    Ok(out)
}

/// Embeds one question.
pub fn embed_query(embedder: &dyn Embedder, text: &str) -> Result<Vec<f32>> {
    let mut v = embed_batched(embedder, &[text], &mut |_, _| {})?;
    v.pop()
        .ok_or_else(|| bad(embedder, "it returned no vector".to_string()))
}

fn normalised(embedder: &dyn Embedder, mut v: Vec<f32>) -> Result<Vec<f32>> {
    if v.len() != embedder.dimension() {
        return Err(bad(
            embedder,
            format!(
                "it returned a vector of {} numbers, not {}",
                v.len(),
                embedder.dimension()
            ),
        ));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(bad(
            embedder,
            "it returned a vector with NaN or infinite values".to_string(),
        ));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    Ok(v)
}

fn bad(embedder: &dyn Embedder, message: String) -> RagError {
    RagError::Embedding {
        model: embedder.model_id(),
        message,
    }
}

/// Encodes a vector as little-endian `f32` bytes, the index's storage format.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes [`to_blob`]'s bytes; a length that is not a multiple of 4 yields `None`.
pub fn from_blob(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(usize);
    impl Embedder for Fixed {
        fn model_id(&self) -> String {
            "fixed".into()
        }
        fn dimension(&self) -> usize {
            2
        }
        fn batch_size(&self) -> usize {
            self.0
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    #[test]
    fn batches_report_progress_and_vectors_come_back_unit_length() {
        let mut seen = Vec::new();
        let v = embed_batched(&Fixed(2), &["abc", "a", "ab"], &mut |d, t| {
            seen.push((d, t))
        })
        .unwrap();
        assert_eq!(seen, vec![(2, 3), (3, 3)]);
        for x in &v {
            assert!((x.iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn a_wrong_dimension_names_the_model() {
        struct Bad;
        impl Embedder for Bad {
            fn model_id(&self) -> String {
                "bad-model".into()
            }
            fn dimension(&self) -> usize {
                3
            }
            fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
                Ok(texts.iter().map(|_| vec![1.0]).collect())
            }
        }
        let e = embed_query(&Bad, "q").unwrap_err().to_string();
        assert!(e.contains("bad-model") && e.contains("not 3"), "{e}");
    }

    #[test]
    fn blobs_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(from_blob(&to_blob(&v)).unwrap(), v);
        assert!(from_blob(&[1, 2, 3]).is_none());
    }
}
