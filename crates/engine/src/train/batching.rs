//! Batches: the order examples are seen in (seeded shuffling, bucketing by length) and padding
//! token sequences into rectangular tensors with attention masks.
//!
//! An epoch's order is a pure function of `(seed, epoch)`, so a resumed run needs only the epoch and
//! the position within it to see exactly the batches it would have seen. Bucketing sorts examples
//! by length within windows of shuffled examples, so batches waste little padding yet stay random.

use candle_core::{Device, Tensor};

use super::loss::IGNORE_INDEX;
use super::rng::Rng;
use crate::Result;

/// How many batches' worth of examples are sorted together when bucketing by length.
pub const BUCKET_WINDOW_BATCHES: usize = 50;

/// The micro-batches of one epoch, as lists of example indices.
///
/// `lengths` (one per example) turns on bucketing; `None` gives plain shuffled batches.
pub fn epoch_batches(
    n: usize,
    batch_size: usize,
    seed: u64,
    epoch: usize,
    lengths: Option<&[usize]>,
) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut rng = Rng::derived(seed, 0x5348_5546_0000_0000 ^ epoch as u64);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let Some(lengths) = lengths else {
        return order.chunks(batch_size).map(|c| c.to_vec()).collect();
    };
    let mut batches = Vec::with_capacity(n.div_ceil(batch_size));
    for window in order.chunks(batch_size * BUCKET_WINDOW_BATCHES) {
        let mut w = window.to_vec();
        // A stable sort keeps the shuffled order among equal lengths.
        w.sort_by_key(|&i| lengths.get(i).copied().unwrap_or(0));
        batches.extend(w.chunks(batch_size).map(|c| c.to_vec()));
    }
    // Without this, every window would run from short to long batches.
    rng.shuffle(&mut batches);
    batches
}

/// Token sequences padded on the right into one rectangle.
#[derive(Debug, Clone)]
pub struct Padded {
    /// `(batch, len)` token ids, `u32`.
    pub input_ids: Tensor,
    /// `(batch, len)`: 1 for a real token, 0 for padding, `u32`.
    pub attention_mask: Tensor,
    /// The true length of each sequence (after truncation).
    pub lengths: Vec<usize>,
}

/// Pads (and truncates to `max_len`) `seqs` with `pad_id`.
pub fn pad(seqs: &[&[u32]], pad_id: u32, max_len: usize, device: &Device) -> Result<Padded> {
    let lengths: Vec<usize> = seqs.iter().map(|s| s.len().min(max_len)).collect();
    let width = lengths.iter().copied().max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * width);
    let mut mask = Vec::with_capacity(seqs.len() * width);
    for (s, &len) in seqs.iter().zip(&lengths) {
        ids.extend_from_slice(&s[..len]);
        ids.extend(std::iter::repeat_n(pad_id, width - len));
        mask.extend(std::iter::repeat_n(1u32, len));
        mask.extend(std::iter::repeat_n(0u32, width - len));
    }
    let shape = (seqs.len(), width);
    Ok(Padded {
        input_ids: Tensor::from_vec(ids, shape, device)?,
        attention_mask: Tensor::from_vec(mask, shape, device)?,
        lengths,
    })
}

/// Pads label sequences with [`IGNORE_INDEX`] to `width` (truncating to it), as `i64`.
pub fn pad_labels(labels: &[&[i64]], width: usize, device: &Device) -> Result<Tensor> {
    let mut out = Vec::with_capacity(labels.len() * width);
    for l in labels {
        let len = l.len().min(width);
        out.extend_from_slice(&l[..len]);
        out.extend(std::iter::repeat_n(IGNORE_INDEX, width - len));
    }
    Ok(Tensor::from_vec(out, (labels.len(), width), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_seen_once_per_epoch() {
        let b = epoch_batches(103, 10, 42, 0, None);
        assert_eq!(b.len(), 11);
        let mut all: Vec<usize> = b.concat();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
    }

    #[test]
    fn the_order_depends_on_seed_and_epoch_only() {
        assert_eq!(
            epoch_batches(50, 4, 1, 3, None),
            epoch_batches(50, 4, 1, 3, None)
        );
        assert_ne!(
            epoch_batches(50, 4, 1, 3, None),
            epoch_batches(50, 4, 1, 4, None)
        );
        assert_ne!(
            epoch_batches(50, 4, 1, 3, None),
            epoch_batches(50, 4, 2, 3, None)
        );
    }

    #[test]
    fn bucketing_groups_similar_lengths_and_still_covers_everything() {
        let lengths: Vec<usize> = (0..400).map(|i| (i * 37) % 101).collect();
        let b = epoch_batches(400, 8, 7, 0, Some(&lengths));
        let mut all: Vec<usize> = b.concat();
        all.sort();
        assert_eq!(all, (0..400).collect::<Vec<_>>());
        let spread = |batch: &Vec<usize>| {
            let l: Vec<usize> = batch.iter().map(|&i| lengths[i]).collect();
            l.iter().max().unwrap() - l.iter().min().unwrap()
        };
        let bucketed: usize = b.iter().map(spread).sum();
        let plain: usize = epoch_batches(400, 8, 7, 0, None).iter().map(spread).sum();
        assert!(
            bucketed * 4 < plain,
            "bucketed spread {bucketed} vs plain {plain}"
        );
    }

    #[test]
    fn padding_fills_on_the_right_and_masks_the_pad() {
        let p = pad(&[&[5, 6, 7], &[8]], 0, 16, &Device::Cpu).unwrap();
        assert_eq!(
            p.input_ids.to_vec2::<u32>().unwrap(),
            vec![vec![5, 6, 7], vec![8, 0, 0]]
        );
        assert_eq!(
            p.attention_mask.to_vec2::<u32>().unwrap(),
            vec![vec![1, 1, 1], vec![1, 0, 0]]
        );
        assert_eq!(p.lengths, vec![3, 1]);
    }

    #[test]
    fn long_sequences_are_truncated_to_max_len() {
        let p = pad(&[&[1, 2, 3, 4, 5]], 0, 2, &Device::Cpu).unwrap();
        assert_eq!(p.input_ids.to_vec2::<u32>().unwrap(), vec![vec![1, 2]]);
        let l = pad_labels(&[&[9, 9, 9], &[1]], 2, &Device::Cpu).unwrap();
        assert_eq!(
            l.to_vec2::<i64>().unwrap(),
            vec![vec![9, 9], vec![1, IGNORE_INDEX]]
        );
    }
}
