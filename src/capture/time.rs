//! UTC civil time for capture names and `start` fields, without a date-time crate.
//!
//! Howard Hinnant's `civil_from_days` turns days since 1970-01-01 into a proleptic
//! Gregorian date; that is all RFC 3339 UTC needs.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant split into its fields, microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
}

impl Utc {
    /// The fields of `time`; instants before 1970 clamp to the epoch (a clock that far off
    /// is not worth a signed code path).
    pub(crate) fn from_system_time(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            micros: since.subsec_micros(),
        }
    }

    /// RFC 3339: `2026-11-24T19:12:03.123456Z`.
    pub(crate) fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        )
    }

    /// The basic form used in file names, sortable and free of `:`:
    /// `20261124T191203.123456Z`.
    pub(crate) fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        )
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_like_httpdate_does() {
        // httpdate is the independent oracle for the calendar part.
        for secs in [
            0u64,
            951_782_400,
            1_709_164_800,
            1_795_547_523,
            4_102_444_799,
        ] {
            let time = UNIX_EPOCH + Duration::from_micros(secs * 1_000_000 + 123_456);
            let utc = Utc::from_system_time(time);
            let http = httpdate::fmt_http_date(time);
            // "Tue, 24 Nov 2026 19:12:03 GMT"
            let day: u32 = http[5..7].parse().unwrap();
            let year: i64 = http[12..16].parse().unwrap();
            assert_eq!((utc.day, utc.year), (day, year), "{http}");
            assert_eq!(&utc.rfc3339()[11..19], &http[17..25]);
            assert!(utc.rfc3339().ends_with(".123456Z"));
        }
    }

    #[test]
    fn formats_a_known_instant() {
        let time = UNIX_EPOCH + Duration::from_micros(1_795_547_523_123_456);
        let utc = Utc::from_system_time(time);
        assert_eq!(utc.rfc3339(), "2026-11-24T19:12:03.123456Z");
        assert_eq!(utc.compact(), "20261124T191203.123456Z");
    }
}
