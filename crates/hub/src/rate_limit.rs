//! The hub's "too many requests" answer (HTTP 429): how long its `Retry-After` header asks us to
//! wait, and the bounds on waiting.
//!
//! Promises: a 429 is retried after the time it names (seconds, or an HTTP date), at most
//! [`MAX_RETRIES`] times and never waiting longer than [`MAX_WAIT`] at once; a longer wait is not
//! slept through but reported to the user with the time the hub named, so a command never hangs
//! for minutes on a rate limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many times one request is retried after a 429.
pub const MAX_RETRIES: u32 = 3;

/// The longest single wait; a hub asking for more is reported instead of waited for.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The wait when a 429 names no time: 1 s, then 2 s, then 4 s.
pub fn default_wait(retry: u32) -> Duration {
    Duration::from_secs(1u64 << retry.min(4))
}

/// Reads a `Retry-After` value: delay seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, a wait from `now`; a date in the past is no wait).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the epoch of an IMF-fixdate (RFC 9110 §5.6.7), the only form the hub sends.
fn parse_http_date(s: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    if parts.len() != 5 || parts[4] != "GMT" {
        return None;
    }
    let day: u64 = parts[0].parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == parts[1])? as u64 + 1;
    let year: u64 = parts[2].parse().ok()?;
    let hms: Vec<u64> = parts[3]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3
        || !(1..=31).contains(&day)
        || year < 1970
        || hms[0] > 23
        || hms[1] > 59
        || hms[2] > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// algorithm), for years from 1970.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_is_read() {
        assert_eq!(
            parse_retry_after("7", SystemTime::now()),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(" soon ", SystemTime::now()), None);
    }

    #[test]
    fn retry_after_as_an_http_date_is_a_wait_from_now() {
        // 1994-11-06 08:49:37 UTC is 784111777 s after the epoch.
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 90);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        let later = UNIX_EPOCH + Duration::from_secs(784_111_777 + 5);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", now),
            None
        );
    }

    #[test]
    fn the_default_wait_doubles_and_stays_bounded() {
        assert_eq!(default_wait(0), Duration::from_secs(1));
        assert_eq!(default_wait(2), Duration::from_secs(4));
        assert!(default_wait(99) <= MAX_WAIT);
    }
}
