//! Time as the store keeps it: milliseconds since the Unix epoch (UTC) in integer columns, so
//! ordering and durations are exact, and formatting to readable UTC text without a time-zone crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now. A clock set before 1970 reads as 0 rather than failing.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The civil (proleptic Gregorian) date and time of `ms`, in UTC.
fn civil(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse: exact for every day, no tables.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2026-11-28 15:42 UTC`: how the CLI shows a moment.
pub fn format_utc(ms: i64) -> String {
    let (y, mo, d, h, mi, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// `20261128-1542`: the date part of run ids and backup names (sorts as time does).
pub fn compact_utc(ms: i64) -> String {
    let (y, mo, d, h, mi, _) = civil(ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}")
}

/// `20261128-154207`: with seconds, for backup file names.
pub fn compact_utc_seconds(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// `1h 02m`, `3m 07s`, `42s`: a duration for people.
pub fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_and_a_leap_day_format_as_the_calendar_says() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29T12:34:56Z
        assert_eq!(compact_utc_seconds(1_709_210_096_000), "20240229-123456");
        // 2026-11-28T15:42:00Z
        assert_eq!(compact_utc(1_795_880_520_000), "20261128-1542");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(format_duration(42_000), "42s");
        assert_eq!(format_duration(187_000), "3m 07s");
        assert_eq!(format_duration(3_720_000), "1h 02m");
        assert_eq!(format_duration(-5), "0s");
    }
}
