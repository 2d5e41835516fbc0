//! alert: Glances' events — a logged limit (`log = true`) crossed at WARNING or CRITICAL
//! opens an event that lasts until the value falls back, with its min/max/avg and the top
//! processes meanwhile (Glances' `alert` plugin). Reads the other plugins' stats of the
//! same tick; the bookkeeping itself lives in `events`.

mod events;

use glint_sdk::input::glint::plugin::log::Level;
use glint_sdk::prelude::*;
use glint_sdk::stats;

use events::{Events, global_message, observe, top_processes};

/// The plugins whose logged limits make events, as Glances watches them. The plugin also
/// reads `processlist` (for the top processes).
const WATCHED: [&str; 9] = [
    "cpu", "percpu", "mem", "memswap", "load", "fs", "diskio", "network", "sensors",
];

/// Glances keeps the last 10 events by default (`[alert] max_events`).
const DEFAULT_MAX_EVENTS: usize = 10;

/// How many processes an event names as the likely cause (Glances shows 3).
const TOP_PROCESSES: usize = 3;

#[derive(Default)]
struct Alert {
    events: Events,
    /// A bad `max_events` is reported once, not on every tick.
    warned_bad_max: bool,
}

impl InputPlugin for Alert {
    fn info() -> PluginInfo {
        let text = |name: &str, desc: &str| field(name, Unit::Text, desc);
        let n = |name: &str, desc: &str| field(name, Unit::Number, desc);
        let mut reads = WATCHED.to_vec();
        reads.push("processlist");
        plugin(
            "alert",
            "Warning and critical events of the logged limits",
            Layout::List,
        )
        .reads(&reads)
        .field(field("begin", Unit::Timestamp, "When the event started."))
        .field(field(
            "end",
            Unit::Timestamp,
            "When the event ended; -1 while it goes on.",
        ))
        .field(text("state", "Worst state reached: WARNING or CRITICAL."))
        .field(text(
            "type",
            "What crossed its limit: PLUGIN_FIELD, plus _KEY for list plugins (CPU_USER, FS_PERCENT_/).",
        ))
        .field(n("min", "Lowest value during the event."))
        .field(n("max", "Highest value during the event."))
        .field(n("avg", "Mean value during the event."))
        .field(n("sum", "Sum of the values during the event."))
        .field(n("count", "Updates the event lasted."))
        .field(text(
            "top",
            "Names of the top 3 processes (by the sort field) while the event went on.",
        ))
        .field(text("desc", "What happened, in words."))
        .field(text("sort", "Process field the top list is sorted by."))
        .field(text("global_msg", "One message summing up the events (same on every row)."))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let max_events = self.max_events();
        let now = i64::try_from(tick.unix_nanos / 1_000_000_000).unwrap_or(i64::MAX);

        let mut observations = Vec::new();
        let mut present = Vec::new();
        for plugin in WATCHED {
            let limits = stats::limits(plugin);
            // Skip the copies of a table no limit logs, unless an ongoing event of it
            // needs to learn that its limit stopped logging.
            if !limits.iter().any(|l| l.log) && !self.events.any_ongoing_from(plugin) {
                continue;
            }
            let Some(table) = stats::latest(plugin) else {
                continue;
            };
            present.push(plugin);
            let decorations = stats::decorations(plugin).unwrap_or_default();
            observations.extend(observe(plugin, &table, &decorations, &limits));
        }
        self.events.apply(now, &observations, &present, max_events);

        if self.events.any_ongoing() {
            // Three columns, not the whole table: processlist has a row per process.
            let columns = ["name", "cpu_percent", "memory_percent"].map(String::from);
            let (by_cpu, by_memory) = match stats::latest_columns("processlist", &columns) {
                Some(processes) => (
                    top_processes(&processes, "cpu_percent", TOP_PROCESSES),
                    top_processes(&processes, "memory_percent", TOP_PROCESSES),
                ),
                None => (Vec::new(), Vec::new()),
            };
            self.events.set_top(&by_cpu, &by_memory);
        }

        let message = global_message(self.events.list());
        let mut rows = Rows::new(None);
        for event in self.events.list() {
            rows.push(
                Row::new()
                    .set("begin", event.begin)
                    .set("end", event.end)
                    .set("state", event.state.name())
                    .set("type", event.kind.as_str())
                    .set("min", event.min)
                    .set("max", event.max)
                    .set("avg", event.avg())
                    .set("sum", event.sum)
                    .set("count", event.count)
                    .set("top", event.top.clone())
                    .set("desc", event.desc())
                    .set("sort", event.sort())
                    .set("global_msg", message.as_str()),
            );
        }
        Ok(rows.into_table())
    }
}

impl Alert {
    /// The `max_events` option, or the default (a bad value is logged once).
    fn max_events(&mut self) -> usize {
        match glint_sdk::config_value(&glint_sdk::config(), "max_events") {
            None => DEFAULT_MAX_EVENTS,
            Some(ConfigValue::Int(n)) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(other) => {
                if !self.warned_bad_max {
                    glint_sdk::log(
                        Level::Warn,
                        &format!(
                            "[plugins.alert] max_events = {other:?}: must be an integer, 0 or \
                             more; keeping {DEFAULT_MAX_EVENTS} events"
                        ),
                    );
                    self.warned_bad_max = true;
                }
                DEFAULT_MAX_EVENTS
            }
        }
    }
}

glint_sdk::export_input!(Alert);
