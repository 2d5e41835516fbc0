//! Glances' event bookkeeping, as pure functions of the stats: which logged limits a tick
//! crosses (observations), how events open, extend and end, the top processes and the
//! global message. No host calls here, so all of it is unit-tested natively.

use glint_sdk::stats::{Decoration, Limit};
use glint_sdk::{Table, Value};

/// How bad an event is. Ordered: the worst state an event reached is the max.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Warning,
    Critical,
}

impl State {
    /// WARNING or CRITICAL for those decorations, none below.
    pub fn from_decoration(decoration: Decoration) -> Option<State> {
        match decoration {
            Decoration::Warning => Some(State::Warning),
            Decoration::Critical => Some(State::Critical),
            Decoration::Default | Decoration::Ok | Decoration::Careful => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
        }
    }
}

/// One logged field of one row as it stands this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub plugin: String,
    /// The event type: `CPU_USER`, `FS_PERCENT_/`.
    pub kind: String,
    /// What the description talks about: `CPU user`, `FS percent (/)`.
    pub subject: String,
    /// None: below WARNING.
    pub state: Option<State>,
    pub value: f64,
}

/// Every logged field of every row of one plugin's table that its limits apply to.
///
/// A limit applies to every row when its key is none, else to the row whose key column
/// equals it. Only limits with `log` count (Glances' `<field>_log`). A cell that is not a
/// number, or has no decoration, is skipped. If two limits reach the same cell (one for
/// every row, one for that row) the cell is observed once.
pub fn observe(
    plugin: &str,
    table: &Table,
    decorations: &[Vec<Decoration>],
    limits: &[Limit],
) -> Vec<Observation> {
    let key_column = table
        .key
        .as_ref()
        .and_then(|key| table.columns.iter().position(|c| c == key));
    let mut observations = Vec::new();
    for limit in limits.iter().filter(|l| l.log) {
        let Some(column) = table.columns.iter().position(|c| *c == limit.field) else {
            continue;
        };
        for (r, row) in table.rows.iter().enumerate() {
            let row_key = key_column.and_then(|k| row.get(k)).and_then(key_text);
            if let Some(wanted) = &limit.key
                && row_key.as_deref() != Some(wanted.as_str())
            {
                continue;
            }
            let Some(value) = row.get(column).and_then(Value::as_f64) else {
                continue;
            };
            let Some(&decoration) = decorations.get(r).and_then(|d| d.get(column)) else {
                continue;
            };
            let (kind, subject) = names(plugin, &limit.field, row_key.as_deref());
            if observations.iter().any(|o: &Observation| o.kind == kind) {
                continue;
            }
            observations.push(Observation {
                plugin: plugin.to_string(),
                kind,
                subject,
                state: State::from_decoration(decoration),
                value,
            });
        }
    }
    observations
}

/// A key cell as text, so a limit's key can name a numeric key too (`percpu` CPU `0`).
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::Text(s) => Some(s.clone()),
        Value::Int(v) => Some(v.to_string()),
        Value::Uint(v) => Some(v.to_string()),
        Value::Float(v) => Some(v.to_string()),
        _ => None,
    }
}

/// The event type (Glances upper-cases the whole name: `FS_PERCENT_/`,
/// `NETWORK_BYTES_RECV_RATE_PER_SEC_ETH0`) and the subject of its description. ASCII
/// upper-casing only: Unicode case tables would add ~35 KB to the guest, and keys are
/// mount points, interface and sensor names.
fn names(plugin: &str, field: &str, key: Option<&str>) -> (String, String) {
    let words = field.replace('_', " ");
    match key {
        Some(key) => (
            format!("{plugin}_{field}_{key}").to_ascii_uppercase(),
            format!("{} {words} ({key})", plugin.to_ascii_uppercase()),
        ),
        None => (
            format!("{plugin}_{field}").to_ascii_uppercase(),
            format!("{} {words}", plugin.to_ascii_uppercase()),
        ),
    }
}

/// One event, ongoing (`end` = -1) or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unix seconds.
    pub begin: i64,
    pub end: i64,
    /// The worst state reached.
    pub state: State,
    pub kind: String,
    pub plugin: String,
    pub subject: String,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
    /// Names of the top processes while it was ongoing.
    pub top: Vec<String>,
}

impl Event {
    fn open(now: i64, state: State, observation: &Observation) -> Self {
        Event {
            begin: now,
            end: -1,
            state,
            kind: observation.kind.clone(),
            plugin: observation.plugin.clone(),
            subject: observation.subject.clone(),
            min: observation.value,
            max: observation.value,
            sum: observation.value,
            count: 1,
            top: Vec::new(),
        }
    }

    fn extend(&mut self, state: State, value: f64) {
        self.state = self.state.max(state);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
    }

    pub fn ongoing(&self) -> bool {
        self.end < 0
    }

    pub fn avg(&self) -> f64 {
        if self.count > 0 {
            self.sum / self.count as f64
        } else {
            0.0
        }
    }

    /// `CPU user above warning`.
    pub fn desc(&self) -> String {
        format!(
            "{} above {}",
            self.subject,
            self.state.name().to_ascii_lowercase()
        )
    }

    /// The process field the top list is sorted by: memory for memory events.
    pub fn sort(&self) -> &'static str {
        if self.plugin == "mem" || self.plugin == "memswap" {
            "memory_percent"
        } else {
            "cpu_percent"
        }
    }
}

/// The events, newest first.
#[derive(Debug, Default)]
pub struct Events {
    list: Vec<Event>,
}

impl Events {
    pub fn list(&self) -> &[Event] {
        &self.list
    }

    pub fn any_ongoing(&self) -> bool {
        self.list.iter().any(Event::ongoing)
    }

    pub fn any_ongoing_from(&self, plugin: &str) -> bool {
        self.list.iter().any(|e| e.ongoing() && e.plugin == plugin)
    }

    /// Applies one tick's observations: WARNING or CRITICAL opens an event of that type or
    /// extends the ongoing one; below WARNING ends it at `now`. An ongoing event of a plugin
    /// that reported this tick (`present`) but no longer observes its type (the row went
    /// away, the limit stopped logging) ends too. Keeps the newest `max_events`.
    pub fn apply(
        &mut self,
        now: i64,
        observations: &[Observation],
        present: &[&str],
        max_events: usize,
    ) {
        for observation in observations {
            let ongoing = self
                .list
                .iter()
                .position(|e| e.ongoing() && e.kind == observation.kind);
            match (observation.state, ongoing) {
                (Some(state), Some(i)) => self.list[i].extend(state, observation.value),
                (Some(state), None) => self.list.insert(0, Event::open(now, state, observation)),
                (None, Some(i)) => self.list[i].end = now,
                (None, None) => {}
            }
        }
        for event in self.list.iter_mut().filter(|e| e.ongoing()) {
            if present.contains(&event.plugin.as_str())
                && !observations.iter().any(|o| o.kind == event.kind)
            {
                event.end = now;
            }
        }
        self.list.truncate(max_events);
    }

    /// Sets the top processes of the ongoing events; ended events keep theirs.
    pub fn set_top(&mut self, by_cpu: &[String], by_memory: &[String]) {
        for event in self.list.iter_mut().filter(|e| e.ongoing()) {
            let top = if event.sort() == "memory_percent" {
                by_memory
            } else {
                by_cpu
            };
            event.top = top.to_vec();
        }
    }
}

/// Names of the `n` processes with the highest `sort` column of a processlist table
/// (table order breaks ties).
pub fn top_processes(processes: &Table, sort: &str, n: usize) -> Vec<String> {
    let column = |name: &str| processes.columns.iter().position(|c| c == name);
    let (Some(name), Some(sort)) = (column("name"), column(sort)) else {
        return Vec::new();
    };
    let mut ranked: Vec<(f64, &str)> = processes
        .rows
        .iter()
        .filter_map(|row| {
            let value = row.get(sort).and_then(Value::as_f64)?;
            let name = row.get(name).and_then(Value::as_str)?;
            Some((value, name))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked
        .into_iter()
        .take(n)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// The message every row carries. With no ongoing event: Glances' "No warning or critical
/// alert detected". Otherwise Glances 4's message for the worst ongoing event's type when
/// it has one (`High CPU user mode`), else Glances 3's header with the number of events.
pub fn global_message(events: &[Event]) -> String {
    let worst = events
        .iter()
        .filter(|e| e.ongoing())
        .max_by_key(|e| (e.state, std::cmp::Reverse(e.begin)));
    let Some(worst) = worst else {
        return "No warning or critical alert detected".to_string();
    };
    let known = match worst.kind.as_str() {
        "CPU_USER" => Some("High CPU user mode"),
        "CPU_SYSTEM" => Some("High CPU kernel usage"),
        "CPU_IOWAIT" => Some("High CPU I/O waiting"),
        "CPU_STEAL" => Some("Large CPU stolen time. System running the hypervisor is too busy."),
        "CPU_NICE" => Some("High CPU niced value"),
        _ if worst.plugin == "load" => Some("System overloaded in the last 5 minutes"),
        _ if worst.plugin == "memswap" => Some("High swap (paging) usage"),
        _ if worst.plugin == "mem" => Some("High memory consumption"),
        _ => None,
    };
    match known {
        Some(message) => message.to_string(),
        None => format!("Warning or critical alerts (last {} entries)", events.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(field: &str, key: Option<&str>, log: bool) -> Limit {
        Limit {
            field: field.to_string(),
            key: key.map(str::to_string),
            careful: Some(50.0),
            warning: Some(70.0),
            critical: Some(90.0),
            log,
        }
    }

    fn obs(kind: &str, state: Option<State>, value: f64) -> Observation {
        let plugin = kind.split('_').next().unwrap_or("").to_ascii_lowercase();
        Observation {
            plugin,
            kind: kind.to_string(),
            subject: kind.to_string(),
            state,
            value,
        }
    }

    const W: Option<State> = Some(State::Warning);
    const C: Option<State> = Some(State::Critical);

    fn cpu_table(user: f64, system: f64) -> Table {
        Table {
            key: None,
            columns: vec!["user".into(), "system".into()],
            rows: vec![vec![Value::Float(user), Value::Float(system)]],
        }
    }

    fn fs_table() -> Table {
        Table {
            key: Some("mnt_point".into()),
            columns: vec!["mnt_point".into(), "percent".into()],
            rows: vec![
                vec![Value::Text("/".into()), Value::Float(95.0)],
                vec![Value::Text("/boot".into()), Value::Float(75.0)],
            ],
        }
    }

    #[test]
    fn observes_only_logged_limits() {
        let table = cpu_table(80.0, 95.0);
        let decorations = vec![vec![Decoration::Warning, Decoration::Critical]];
        let limits = [limit("user", None, true), limit("system", None, false)];
        let found = observe("cpu", &table, &decorations, &limits);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "CPU_USER");
        assert_eq!(found[0].subject, "CPU user");
        assert_eq!(found[0].state, W);
        assert_eq!(found[0].value, 80.0);
    }

    #[test]
    fn list_plugins_get_the_key_in_the_type() {
        let decorations = vec![
            vec![Decoration::Default, Decoration::Critical],
            vec![Decoration::Default, Decoration::Warning],
        ];
        let all = observe(
            "fs",
            &fs_table(),
            &decorations,
            &[limit("percent", None, true)],
        );
        let kinds: Vec<&str> = all.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["FS_PERCENT_/", "FS_PERCENT_/BOOT"]);
        assert_eq!(all[0].state, C);
        assert_eq!(all[0].subject, "FS percent (/)");

        let one = observe(
            "fs",
            &fs_table(),
            &decorations,
            &[limit("percent", Some("/boot"), true)],
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].value, 75.0);
    }

    #[test]
    fn numeric_keys_match_as_text_and_cells_are_observed_once() {
        let table = Table {
            key: Some("cpu_number".into()),
            columns: vec!["cpu_number".into(), "user".into()],
            rows: vec![
                vec![Value::Uint(0), Value::Float(10.0)],
                vec![Value::Uint(1), Value::Float(99.0)],
            ],
        };
        let decorations = vec![
            vec![Decoration::Default, Decoration::Ok],
            vec![Decoration::Default, Decoration::Critical],
        ];
        let limits = [limit("user", Some("1"), true), limit("user", None, true)];
        let found = observe("percpu", &table, &decorations, &limits);
        let kinds: Vec<&str> = found.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["PERCPU_USER_1", "PERCPU_USER_0"]);
    }

    #[test]
    fn skips_missing_fields_text_cells_and_missing_decorations() {
        let table = cpu_table(80.0, 95.0);
        let limits = [limit("nope", None, true), limit("user", None, true)];
        assert!(observe("cpu", &table, &[], &limits).is_empty());
        let text = Table {
            key: None,
            columns: vec!["user".into()],
            rows: vec![vec![Value::Text("high".into())]],
        };
        assert!(observe("cpu", &text, &[vec![Decoration::Critical]], &limits).is_empty());
    }

    #[test]
    fn open_extend_and_close() {
        let mut events = Events::default();
        events.apply(100, &[obs("CPU_USER", W, 75.0)], &["cpu"], 10);
        assert_eq!(events.list().len(), 1);
        let e = &events.list()[0];
        assert_eq!(
            (e.begin, e.end, e.state, e.count),
            (100, -1, State::Warning, 1)
        );
        assert_eq!(e.desc(), "CPU_USER above warning");

        events.apply(102, &[obs("CPU_USER", C, 95.0)], &["cpu"], 10);
        events.apply(104, &[obs("CPU_USER", W, 72.0)], &["cpu"], 10);
        let e = &events.list()[0];
        assert_eq!(events.list().len(), 1);
        assert_eq!(e.state, State::Critical, "the worst state stays");
        assert_eq!((e.min, e.max, e.sum, e.count), (72.0, 95.0, 242.0, 3));
        assert!((e.avg() - 242.0 / 3.0).abs() < 1e-9);
        assert!(e.ongoing());

        events.apply(106, &[obs("CPU_USER", None, 30.0)], &["cpu"], 10);
        let e = &events.list()[0];
        assert_eq!(e.end, 106);
        assert_eq!(e.count, 3, "the value below warning is not counted");

        // Crossing again opens a new event, newest first.
        events.apply(108, &[obs("CPU_USER", W, 71.0)], &["cpu"], 10);
        assert_eq!(events.list().len(), 2);
        assert_eq!(events.list()[0].begin, 108);
        assert_eq!(events.list()[1].end, 106);
    }

    #[test]
    fn below_warning_without_an_event_does_nothing() {
        let mut events = Events::default();
        events.apply(1, &[obs("CPU_USER", None, 10.0)], &["cpu"], 10);
        assert!(events.list().is_empty());
    }

    #[test]
    fn a_vanished_row_ends_its_event_unless_its_plugin_did_not_report() {
        let mut events = Events::default();
        events.apply(1, &[obs("FS_PERCENT_/MNT", C, 99.0)], &["fs"], 10);
        // fs did not report this tick: the event goes on.
        events.apply(2, &[], &["cpu"], 10);
        assert!(events.list()[0].ongoing());
        // fs reported without that row: it ends.
        events.apply(3, &[], &["fs"], 10);
        assert_eq!(events.list()[0].end, 3);
    }

    #[test]
    fn keeps_the_newest_max_events() {
        let mut events = Events::default();
        for t in 0..5 {
            events.apply(t, &[obs("CPU_USER", W, 80.0)], &["cpu"], 3);
            events.apply(t, &[obs("CPU_USER", None, 10.0)], &["cpu"], 3);
        }
        let begins: Vec<i64> = events.list().iter().map(|e| e.begin).collect();
        assert_eq!(begins, [4, 3, 2]);
    }

    #[test]
    fn top_goes_to_ongoing_events_by_their_sort() {
        let mut events = Events::default();
        events.apply(1, &[obs("CPU_USER", W, 80.0)], &["cpu"], 10);
        events.apply(1, &[obs("MEM_PERCENT", W, 80.0)], &["mem"], 10);
        events.set_top(&["cpu-hog".to_string()], &["mem-hog".to_string()]);
        let mem = &events.list()[0];
        assert_eq!(
            (mem.sort(), mem.top.as_slice()),
            ("memory_percent", &["mem-hog".to_string()][..])
        );
        let cpu = &events.list()[1];
        assert_eq!(
            (cpu.sort(), cpu.top.as_slice()),
            ("cpu_percent", &["cpu-hog".to_string()][..])
        );

        events.apply(2, &[obs("CPU_USER", None, 10.0)], &["cpu"], 10);
        events.set_top(&["other".to_string()], &[]);
        assert_eq!(
            events.list()[1].top,
            ["cpu-hog"],
            "an ended event keeps its top"
        );
    }

    #[test]
    fn top_processes_by_column() {
        let row = |name: &str, cpu: f64, mem: f64| {
            vec![
                Value::Text(name.into()),
                Value::Float(cpu),
                Value::Float(mem),
            ]
        };
        let table = Table {
            key: Some("name".into()),
            columns: vec!["name".into(), "cpu_percent".into(), "memory_percent".into()],
            rows: vec![
                row("a", 1.0, 40.0),
                row("b", 50.0, 1.0),
                row("c", 20.0, 30.0),
                row("d", 30.0, 2.0),
            ],
        };
        assert_eq!(top_processes(&table, "cpu_percent", 3), ["b", "d", "c"]);
        assert_eq!(top_processes(&table, "memory_percent", 2), ["a", "c"]);
        assert!(top_processes(&table, "missing", 3).is_empty());
    }

    #[test]
    fn global_message_follows_the_worst_ongoing_event() {
        let mut events = Events::default();
        assert_eq!(
            global_message(events.list()),
            "No warning or critical alert detected"
        );
        events.apply(1, &[obs("CPU_USER", W, 80.0)], &["cpu"], 10);
        assert_eq!(global_message(events.list()), "High CPU user mode");
        events.apply(2, &[obs("MEM_PERCENT", C, 95.0)], &["mem"], 10);
        assert_eq!(global_message(events.list()), "High memory consumption");
        events.apply(3, &[obs("FS_PERCENT_/", C, 99.0)], &["fs"], 10);
        assert_eq!(
            global_message(events.list()),
            "High memory consumption",
            "the older of two critical events wins"
        );
        events.apply(4, &[], &["cpu", "mem"], 10);
        assert_eq!(
            global_message(events.list()),
            "Warning or critical alerts (last 3 entries)"
        );
        events.apply(5, &[], &["fs"], 10);
        assert_eq!(
            global_message(events.list()),
            "No warning or critical alert detected"
        );
    }
}
