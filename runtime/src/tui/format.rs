//! Numbers as Glances prints them: sizes and rates (`auto_unit`), percents, process CPU time
//! (TIME+), alert durations and times, plugin call times.

use jiff::tz::TimeZone;

/// How many decimals `auto_unit` keeps (Glances' `low_precision` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 2 decimals below 10, 1 below 100, none above; none for K.
    Normal,
    /// For narrow columns (process VIRT, RES, R/s, W/s): none for K and M, at most one above.
    Low,
}

/// What a rate counts: network rates are shown in bytes or bits per second (the `b` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Bytes,
    Bits,
}

/// Glances' unit symbols, largest first; each is 1024 times the next.
const UNITS: [(char, f64); 5] = [
    ('P', 1_125_899_906_842_624.0),
    ('T', 1_099_511_627_776.0),
    ('G', 1_073_741_824.0),
    ('M', 1_048_576.0),
    ('K', 1024.0),
];

/// A size or a count in Glances' `auto_unit` form: `1.18M`, `23.5G`, `96K`, `512`.
pub fn auto_unit(value: f64, precision: Precision) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    for (symbol, size) in UNITS {
        let scaled = value / size;
        // Glances' test is `> 1`: exactly 1024 still prints as 1024.
        if scaled > 1.0 {
            let mut decimals: usize = if scaled < 10.0 {
                2
            } else if scaled < 100.0 {
                1
            } else {
                0
            };
            match precision {
                Precision::Low if symbol == 'K' || symbol == 'M' => decimals = 0,
                Precision::Low => decimals = decimals.min(1),
                Precision::Normal if symbol == 'K' => decimals = 0,
                Precision::Normal => {}
            }
            return format!("{scaled:.decimals$}{symbol}");
        }
    }
    format!("{value:.0}")
}

/// A per-second rate in `auto_unit` form; in bits, the value ×8 with a `b` suffix (`9.42Mb`).
/// The column headers carry the `/s` (Glances' `Rx/s`, `R/s`), which keeps the values short.
pub fn rate(bytes_per_sec: f64, unit: RateUnit) -> String {
    match unit {
        RateUnit::Bytes => auto_unit(bytes_per_sec, Precision::Normal),
        RateUnit::Bits => format!("{}b", auto_unit(bytes_per_sec * 8.0, Precision::Normal)),
    }
}

/// `68.2%`.
pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

/// A process's CPU time as Glances' and htop's TIME+: `M:SS.cc` under an hour, `H:MM:SS` under
/// 100 hours, then whole hours (`114h`), so it always fits 8 columns.
pub fn cpu_time(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".to_string();
    }
    let centis = (seconds * 100.0).round() as u64;
    let secs = centis / 100;
    let hours = secs / 3600;
    if hours >= 100 {
        format!("{hours}h")
    } else if hours > 0 {
        format!("{hours}:{:02}:{:02}", secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}.{:02}", secs / 60, secs % 60, centis % 100)
    }
}

/// How long an alert lasted, as Python prints a timedelta (Glances' alert log): `0:02:05`,
/// `1 day, 2:03:04`.
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        days => format!("{days} days, {hms}"),
    }
}

/// A Unix time as `2026-12-01 20:06:40` in `tz` (the alert log's begin column); `-` when the
/// number is no time jiff can represent.
pub fn timestamp(seconds: i64, tz: &TimeZone) -> String {
    let Ok(time) = jiff::Timestamp::from_second(seconds) else {
        return "-".to_string();
    };
    let zoned = time.to_zoned(tz.clone());
    jiff::fmt::strtime::format("%Y-%m-%d %H:%M:%S", &zoned).unwrap_or_else(|_| "-".to_string())
}

/// A plugin call's duration: `850µs`, `12.3ms`, `1.20s`.
pub fn micros(micros: u64) -> String {
    if micros < 1000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1000.0)
    } else {
        format!("{:.2}s", micros as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_unit_follows_glances_precision() {
        assert_eq!(auto_unit(0.0, Precision::Normal), "0");
        assert_eq!(auto_unit(512.0, Precision::Normal), "512");
        // Glances compares with `> 1`: 1024 itself stays a plain number.
        assert_eq!(auto_unit(1024.0, Precision::Normal), "1024");
        // K never has decimals.
        assert_eq!(auto_unit(5120.0, Precision::Normal), "5K");
        assert_eq!(auto_unit(98_765.4, Precision::Normal), "96K");
        // Below 10: two decimals, below 100: one, above: none.
        assert_eq!(auto_unit(1_234_567.0, Precision::Normal), "1.18M");
        assert_eq!(auto_unit(25_275_990_016.0, Precision::Normal), "23.5G");
        assert_eq!(auto_unit(270_553_174_016.0, Precision::Normal), "252G");
        assert_eq!(
            auto_unit(4.5 * 1_099_511_627_776.0, Precision::Normal),
            "4.50T"
        );
        assert_eq!(
            auto_unit(3.0 * 1_125_899_906_842_624.0, Precision::Normal),
            "3.00P"
        );
        assert_eq!(auto_unit(f64::NAN, Precision::Normal), "-");
    }

    #[test]
    fn low_precision_drops_decimals_for_k_and_m() {
        assert_eq!(auto_unit(98.0 * 1_048_576.0, Precision::Low), "98M");
        assert_eq!(auto_unit(2.1 * 1_073_741_824.0, Precision::Low), "2.1G");
        assert_eq!(auto_unit(123.4 * 1_073_741_824.0, Precision::Low), "123G");
        assert_eq!(auto_unit(524_288.0, Precision::Low), "512K");
    }

    #[test]
    fn rates_in_bytes_or_bits() {
        assert_eq!(rate(1_234_567.0, RateUnit::Bytes), "1.18M");
        assert_eq!(rate(1_234_567.0, RateUnit::Bits), "9.42Mb");
        assert_eq!(rate(0.0, RateUnit::Bits), "0b");
        assert_eq!(rate(100.0, RateUnit::Bits), "800b");
    }

    #[test]
    fn percent_has_one_decimal() {
        assert_eq!(percent(68.24), "68.2%");
        assert_eq!(percent(100.0), "100.0%");
    }

    #[test]
    fn cpu_time_is_top_plus_format() {
        assert_eq!(cpu_time(0.0), "0:00.00");
        assert_eq!(cpu_time(57.5), "0:57.50");
        assert_eq!(cpu_time(125.333), "2:05.33");
        assert_eq!(cpu_time(3845.6), "1:04:05");
        assert_eq!(cpu_time(99.0 * 3600.0 + 59.0 * 60.0 + 59.0), "99:59:59");
        assert_eq!(cpu_time(412_500.5), "114h");
        assert_eq!(cpu_time(-1.0), "-");
        assert_eq!(cpu_time(f64::INFINITY), "-");
    }

    #[test]
    fn durations_print_like_timedelta() {
        assert_eq!(duration(0), "0:00:00");
        assert_eq!(duration(125), "0:02:05");
        assert_eq!(duration(86_400 + 3600 * 2 + 63), "1 day, 2:01:03");
        assert_eq!(duration(3 * 86_400), "3 days, 0:00:00");
        assert_eq!(duration(-5), "0:00:00");
    }

    #[test]
    fn timestamps_in_the_given_zone() {
        assert_eq!(
            timestamp(1_796_155_600, &TimeZone::UTC),
            "2026-12-01 20:06:40"
        );
        let plus_two = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(timestamp(1_796_155_600, &plus_two), "2026-12-01 22:06:40");
        assert_eq!(timestamp(i64::MAX, &TimeZone::UTC), "-");
    }

    #[test]
    fn call_times_pick_their_unit() {
        assert_eq!(micros(850), "850µs");
        assert_eq!(micros(12_345), "12.3ms");
        assert_eq!(micros(1_200_000), "1.20s");
    }
}
