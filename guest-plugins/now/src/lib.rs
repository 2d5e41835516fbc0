//! now: the local date and time, as ISO 8601 and as `%Y-%m-%d %H:%M:%S %Z` (Glances' `now`
//! plugin). The calendar arithmetic is done here so the guest needs no date crate.

use glint_sdk::prelude::*;

#[derive(Default)]
struct Now;

const SECONDS_PER_DAY: i64 = 86_400;

/// A local date and time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era, [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era, [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // doy < 366 and mp < 12 keep both in range of u32.
    (year, month as u32, day as u32)
}

/// The local time `utc_offset` seconds away from UTC at `unix_seconds`.
fn local_time(unix_seconds: i64, utc_offset: i32) -> DateTime {
    let local = unix_seconds + i64::from(utc_offset);
    let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    let secs = local.rem_euclid(SECONDS_PER_DAY) as u32;
    DateTime {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs % 3600 / 60,
        second: secs % 60,
    }
}

/// The offset as Python's `isoformat` writes it: `+HH:MM`, with `:SS` only when not zero.
fn format_offset(utc_offset: i32) -> String {
    let sign = if utc_offset < 0 { '-' } else { '+' };
    let abs = utc_offset.unsigned_abs();
    let mut out = format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60);
    if !abs.is_multiple_of(60) {
        out.push_str(&format!(":{:02}", abs % 60));
    }
    out
}

fn format_date_time(t: &DateTime, separator: char) -> String {
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `2026-11-22T03:43:03+00:00` (Python's `datetime.now().astimezone().replace(microsecond=0)
/// .isoformat()`).
fn format_iso(t: &DateTime, utc_offset: i32) -> String {
    format!("{}{}", format_date_time(t, 'T'), format_offset(utc_offset))
}

/// `2026-11-22 03:43:03 UTC` (`%Y-%m-%d %H:%M:%S %Z`).
fn format_custom(t: &DateTime, timezone: &str) -> String {
    format!("{} {timezone}", format_date_time(t, ' '))
}

impl InputPlugin for Now {
    fn info() -> PluginInfo {
        plugin("now", "Local date and time", Layout::Record)
            .field(field(
                "iso",
                Unit::Text,
                "Local time, ISO 8601 with the UTC offset.",
            ))
            .field(field(
                "custom",
                Unit::Text,
                "Local time, `%Y-%m-%d %H:%M:%S %Z`.",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let clock = readings::get_clock();
        // u64 nanoseconds / 1e9 always fits in i64.
        let unix_seconds = (clock.unix_nanos / 1_000_000_000) as i64;
        let t = local_time(unix_seconds, clock.utc_offset);
        Ok(Row::new()
            .set("iso", format_iso(&t, clock.utc_offset))
            .set("custom", format_custom(&t, &clock.timezone))
            .into_table())
    }
}

glint_sdk::export_input!(Now);

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22T03:43:03Z.
    const SAMPLE: i64 = 1_795_318_983;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(31), (1970, 2, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_088), (2024, 12, 31));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
        // 2100 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    fn days_in_month(y: i64, m: u32) -> u32 {
        match m {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_from_1970_to_2500_follows_the_previous_one() {
        let mut expected = (1970, 1, 1);
        for days in 0..=193_579 {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn iso_in_utc_and_with_offsets() {
        let iso = |offset| format_iso(&local_time(SAMPLE, offset), offset);
        assert_eq!(iso(0), "2026-11-22T03:43:03+00:00");
        assert_eq!(iso(3600), "2026-11-22T04:43:03+01:00");
        // Crossing midnight backwards.
        assert_eq!(iso(-5 * 3600), "2026-11-21T22:43:03-05:00");
        assert_eq!(iso(5 * 3600 + 1800), "2026-11-22T09:13:03+05:30");
        assert_eq!(iso(-1800), "2026-11-22T03:13:03-00:30");
        assert_eq!(iso(3615), "2026-11-22T04:43:18+01:00:15");
    }

    #[test]
    fn custom_format_names_the_zone() {
        let t = local_time(SAMPLE, 0);
        assert_eq!(format_custom(&t, "UTC"), "2026-11-22 03:43:03 UTC");
        let t = local_time(SAMPLE, 3600);
        assert_eq!(format_custom(&t, "CET"), "2026-11-22 04:43:03 CET");
    }

    #[test]
    fn leap_day_and_new_year() {
        // 2024-02-29T23:59:59Z and one second later.
        let t = local_time(1_709_251_199, 0);
        assert_eq!(format_iso(&t, 0), "2024-02-29T23:59:59+00:00");
        let t = local_time(1_709_251_200, 0);
        assert_eq!(format_iso(&t, 0), "2024-03-01T00:00:00+00:00");
        // 2025-12-31T23:30:00Z is already 2026 one hour east.
        let t = local_time(1_767_223_800, 3600);
        assert_eq!(format_iso(&t, 3600), "2026-01-01T00:30:00+01:00");
    }
}
