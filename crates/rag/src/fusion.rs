//! Reciprocal rank fusion: merging ranked lists (semantic and keyword) by rank alone, so scores on
//! different scales need no calibration. An item's fused score is the sum over lists of
//! `1 / (k + rank)`, with ranks from 1 and `k = 60` as in Cormack, Clarke and Büttcher (2009).

use std::collections::HashMap;

/// The constant the original paper found robust.
pub const RRF_K: f32 = 60.0;

/// Fuses ranked lists of ids (best first) into one list of (id, score), best first. Ties keep the
/// order in which the ids were first seen, so the result is deterministic.
pub fn reciprocal_rank_fusion(lists: &[Vec<i64>], k: f32) -> Vec<(i64, f32)> {
    let mut scores: HashMap<i64, (f32, usize)> = HashMap::new();
    let mut seen = 0;
    for list in lists {
        for (rank, &id) in list.iter().enumerate() {
            let entry = scores.entry(id).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    let mut out: Vec<(i64, f32, usize)> = scores
        .into_iter()
        .map(|(id, (s, order))| (id, s, order))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(id, s, _)| (id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_ranked_well_by_both_lists_beats_one_ranked_first_by_one() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![2, 4, 1]], RRF_K);
        let ids: Vec<i64> = fused.iter().map(|x| x.0).collect();
        assert_eq!(ids, vec![2, 1, 4, 3]);
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-7);
    }

    #[test]
    fn one_list_keeps_its_order_and_empty_lists_give_nothing() {
        assert_eq!(
            reciprocal_rank_fusion(&[vec![5, 3, 9]], RRF_K)
                .iter()
                .map(|x| x.0)
                .collect::<Vec<_>>(),
            vec![5, 3, 9]
        );
        assert!(reciprocal_rank_fusion(&[vec![], vec![]], RRF_K).is_empty());
    }
}
