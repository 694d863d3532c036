//! Dates and durations for display, in one place: the file dates beside results and near-duplicates,
//! the time left of long work.

/// The calendar date (UTC) of a time in nanoseconds since the Unix epoch, as `YYYY-MM-DD` (Howard
/// Hinnant's `civil_from_days`).
pub fn day(ns: u64) -> String {
    let z = (ns / 1_000_000_000 / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM` (UTC) from nanoseconds since the Unix epoch.
pub fn minute(ns: u64) -> String {
    let rem = ns / 1_000_000_000 % 86_400;
    format!("{} {:02}:{:02}", day(ns), rem / 3600, rem % 3600 / 60)
}

/// Seconds in words for a time left: "42 s", "3 min 5 s", "1 h 12 min".
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_minutes_of_known_times() {
        let second = 1_000_000_000u64;
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(86_400 * second - 1), "1970-01-01");
        assert_eq!(day(951_782_400 * second), "2000-02-29");
        assert_eq!(day(951_868_800 * second), "2000-03-01");
        assert_eq!(day(1_700_000_000 * second), "2023-11-14");
        assert_eq!(day(4_102_444_800 * second), "2100-01-01");
        assert_eq!(minute(0), "1970-01-01 00:00");
        assert_eq!(minute(1_795_507_219 * second), "2026-11-24 08:00");
        assert_eq!(minute(951_782_400 * second), "2000-02-29 00:00");
    }
}
