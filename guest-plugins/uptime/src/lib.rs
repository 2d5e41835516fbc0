//! uptime: time since boot as Glances shows it, Python's `str(timedelta)` of whole seconds
//! (Glances' `uptime` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Uptime;

const SECONDS_PER_DAY: u64 = 86_400;

/// `[D day(s), ]H:MM:SS`, exactly as Python's `str(timedelta(seconds=s))`.
fn format_uptime(seconds: u64) -> String {
    let days = seconds / SECONDS_PER_DAY;
    let rest = seconds % SECONDS_PER_DAY;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        d => format!("{d} days, {clock}"),
    }
}

impl InputPlugin for Uptime {
    fn info() -> PluginInfo {
        plugin("uptime", "Time since boot", Layout::Scalar).field(field(
            "uptime",
            Unit::Text,
            "Time since boot, `[D day(s), ]H:MM:SS`.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let up = readings::get_uptime();
        // Whole seconds, as Glances drops the fraction; a negative or NaN reading becomes 0.
        let seconds = if up.seconds.is_finite() && up.seconds > 0.0 {
            up.seconds as u64
        } else {
            0
        };
        Ok(Row::new()
            .set("uptime", format_uptime(seconds))
            .into_table())
    }
}

glint_sdk::export_input!(Uptime);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python_timedelta() {
        assert_eq!(format_uptime(0), "0:00:00");
        assert_eq!(format_uptime(613), "0:10:13");
        assert_eq!(format_uptime(86_399), "23:59:59");
        assert_eq!(format_uptime(86_400), "1 day, 0:00:00");
        assert_eq!(
            format_uptime(86_400 + 2 * 3600 + 3 * 60 + 4),
            "1 day, 2:03:04"
        );
        assert_eq!(
            format_uptime(8 * 86_400 + 20 * 3600 + 51 * 60 + 7),
            "8 days, 20:51:07"
        );
        assert_eq!(format_uptime(400 * 86_400 + 36_000), "400 days, 10:00:00");
    }
}
