//! Run ids: short, readable, sortable by time and unique: `20261128-1542-a1b2c3` (UTC minute of
//! creation + six random hex digits). The store retries on the rare clash.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::clock;

/// A fresh id for a run created at `now_ms`; `attempt` varies the random part after a clash.
pub fn new_run_id(now_ms: i64, attempt: u32) -> String {
    // RandomState is seeded from the OS once per process and varies per instance: enough entropy for
    // six hex digits without a random-number crate.
    let mut h = RandomState::new().build_hasher();
    h.write_i64(now_ms);
    h.write_u32(attempt);
    h.write_u32(std::process::id());
    let n = h.finish() & 0xff_ffff;
    format!("{}-{n:06x}", clock::compact_utc(now_ms))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_read_as_date_time_and_six_hex_digits() {
        let id = super::new_run_id(1_795_880_520_000, 0);
        assert!(id.starts_with("20261128-1542-"), "{id}");
        assert_eq!(id.len(), "20261128-1542-abcdef".len());
        assert!(id[14..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn ids_made_in_the_same_minute_differ() {
        let ids: std::collections::HashSet<_> = (0..200).map(|i| super::new_run_id(0, i)).collect();
        assert!(ids.len() > 195, "{} distinct of 200", ids.len());
    }
}
