//! processlist: every process with its CPU share since the previous tick, memory use, CPU
//! times and I/O counters, sorted by CPU then memory like Glances' automatic sort (Glances'
//! `processlist` plugin). Owns the per-PID state the CPU and I/O deltas need.

use std::collections::HashMap;

use glint_sdk::input::glint::plugin::log::Level;
use glint_sdk::prelude::*;
use glint_sdk::readings::Process;

#[derive(Default)]
struct ProcessList {
    /// What each PID of the previous tick had used: the CPU and I/O deltas start from it.
    previous: HashMap<u32, Previous>,
    /// The map of two ticks ago, cleared and refilled each tick so its allocation is reused.
    spare: HashMap<u32, Previous>,
    /// Monotonic time of the previous tick.
    last_monotonic: Option<u64>,
    /// A bad `max` is reported once, not on every tick.
    warned_bad_max: bool,
}

#[derive(Debug, Clone, Copy)]
struct Previous {
    /// Tells a new process that reused the PID from the one seen before.
    create_time: f64,
    /// User + system CPU seconds.
    cpu: f64,
    /// (read, write) bytes, when readable.
    io: Option<(u64, u64)>,
}

/// One process, with what was computed for it, waiting to be sorted.
struct Entry {
    cpu_percent: f64,
    /// Unrounded, so that processes under 0.05 % still sort by memory.
    memory_percent: f64,
    io_counters: Vec<i64>,
    process: Process,
}

impl InputPlugin for ProcessList {
    fn info() -> PluginInfo {
        let n = |name: &str, desc: &str| field(name, Unit::Number, desc);
        let text = |name: &str, desc: &str| field(name, Unit::Text, desc);
        let secs = |name: &str, desc: &str| field(name, Unit::Seconds, desc);
        let bytes = |name: &str, desc: &str| field(name, Unit::Bytes, desc);
        plugin(
            "processlist",
            "Processes sorted by CPU then memory use",
            Layout::List,
        )
        .field(n("pid", "Process ID."))
        .field(n("ppid", "Parent process ID."))
        .field(text("name", "Process name."))
        .field(text("cmdline", "Command line, one argument per element."))
        .field(text("username", "Owner of the process."))
        .field(text("status", "State letter (R, S, D, Z, T, I)."))
        .field(n("nice", "Nice value."))
        .field(n("num_threads", "Number of threads."))
        .field(field(
            "cpu_percent",
            Unit::Percent,
            "CPU use since the previous update, percent of one core (0 on a process's first update).",
        ))
        .field(field(
            "memory_percent",
            Unit::Percent,
            "Resident memory, percent of total memory.",
        ))
        .field(secs("cpu_times.user", "CPU time in user space since the process started."))
        .field(secs("cpu_times.system", "CPU time in kernel space since the process started."))
        .field(secs("cpu_times.children_user", "User CPU time of waited-for children."))
        .field(secs("cpu_times.children_system", "Kernel CPU time of waited-for children."))
        .field(secs("cpu_times.iowait", "Time spent waiting for block I/O."))
        .field(bytes("memory_info.rss", "Resident set size."))
        .field(bytes("memory_info.vms", "Virtual memory size."))
        .field(bytes("memory_info.shared", "Shared memory (file-backed resident pages)."))
        .field(bytes("memory_info.text", "Executable code."))
        .field(bytes("memory_info.data", "Data and stack."))
        .field(bytes(
            "io_counters",
            "[read_bytes, write_bytes, read_bytes_old, write_bytes_old, tag]: old = previous update's \
             counters, tag 1 when both are known; [0,0,0,0,0] when I/O is unreadable.",
        ))
        .field(n("gids.real", "Real group ID."))
        .field(n("gids.effective", "Effective group ID."))
        .field(n("gids.saved", "Saved group ID."))
        .field(field(
            "create_time",
            Unit::Timestamp,
            "When the process started.",
        ))
        .field(n("cpu_num", "The CPU it last ran on."))
        .field(secs("time_since_update", "Seconds since the previous update."))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let max = self.max_or_warn();
        let memory_total = readings::get_memory().total;
        let processes = readings::get_processes();

        let elapsed = self
            .last_monotonic
            .map_or(0.0, |m| tick.monotonic_nanos.saturating_sub(m) as f64 / 1e9);
        self.last_monotonic = Some(tick.monotonic_nanos);
        let mut entries = self.entries(processes, memory_total, elapsed);

        sort_entries(&mut entries);
        if let Some(max) = max {
            entries.truncate(max);
        }

        let mut rows = Rows::new(Some("pid"));
        for entry in entries {
            rows.push(row(entry, elapsed));
        }
        Ok(rows.into_table())
    }
}

impl ProcessList {
    /// The `max` option; a bad one is logged once and means every process.
    fn max_or_warn(&mut self) -> Option<usize> {
        match max_rows(&glint_sdk::config()) {
            Ok(max) => max,
            Err(message) => {
                if !self.warned_bad_max {
                    glint_sdk::log(Level::Warn, &message);
                    self.warned_bad_max = true;
                }
                None
            }
        }
    }

    /// Each process with its CPU share over the `elapsed` seconds since the previous tick,
    /// memory share and I/O counters; what each used is kept for the next tick.
    fn entries(&mut self, processes: Vec<Process>, memory_total: u64, elapsed: f64) -> Vec<Entry> {
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        next.reserve(processes.len());
        let mut entries = Vec::with_capacity(processes.len());
        for process in processes {
            let previous = self
                .previous
                .get(&process.pid)
                .filter(|p| same_process(p.create_time, process.create_time));
            let cpu = process.cpu_user + process.cpu_system;
            let io = process.io_read_bytes.zip(process.io_write_bytes);
            next.insert(
                process.pid,
                Previous {
                    create_time: process.create_time,
                    cpu,
                    io,
                },
            );
            entries.push(Entry {
                cpu_percent: cpu_percent(previous.map(|p| p.cpu), cpu, elapsed),
                memory_percent: share(process.memory_rss, memory_total),
                io_counters: io_counters(io, previous.and_then(|p| p.io)),
                process,
            });
        }
        // PIDs that are gone are not carried over: the state stays as big as the process list.
        self.spare = std::mem::replace(&mut self.previous, next);

        entries
    }
}

/// The row of one process.
fn row(entry: Entry, elapsed: f64) -> Row {
    let Process {
        pid,
        ppid,
        name,
        cmdline,
        username,
        status,
        nice,
        num_threads,
        cpu_user,
        cpu_system,
        cpu_children_user,
        cpu_children_system,
        cpu_iowait,
        memory_rss,
        memory_vms,
        memory_shared,
        memory_text,
        memory_data,
        io_read_bytes: _,
        io_write_bytes: _,
        create_time,
        uid: _,
        gid,
        cpu_num,
    } = entry.process;
    Row::new()
        .set("pid", pid)
        .set("ppid", ppid)
        .set("name", name)
        .set("cmdline", cmdline)
        .set("username", username)
        .set("status", status)
        .set("nice", nice)
        .set("num_threads", num_threads)
        .set("cpu_percent", entry.cpu_percent)
        .set("memory_percent", round1(entry.memory_percent))
        .set("cpu_times.user", cpu_user)
        .set("cpu_times.system", cpu_system)
        .set("cpu_times.children_user", cpu_children_user)
        .set("cpu_times.children_system", cpu_children_system)
        .set("cpu_times.iowait", cpu_iowait)
        .set("memory_info.rss", memory_rss)
        .set("memory_info.vms", memory_vms)
        .set("memory_info.shared", memory_shared)
        .set("memory_info.text", memory_text)
        .set("memory_info.data", memory_data)
        .set("io_counters", entry.io_counters)
        .set("gids.real", gid)
        .set("gids.effective", gid)
        .set("gids.saved", gid)
        .set("create_time", create_time)
        .set("cpu_num", cpu_num)
        .set("time_since_update", elapsed)
}

/// The `max` option: how many rows to keep after sorting (none, or 0, = all).
fn max_rows(config: &[(String, ConfigValue)]) -> Result<Option<usize>, String> {
    match glint_sdk::config_value(config, "max") {
        None => Ok(None),
        Some(ConfigValue::Int(0)) => Ok(None),
        Some(ConfigValue::Int(n)) => usize::try_from(n).map(Some).map_err(|_| {
            format!("[plugins.processlist] max = {n}: must be 0 or more; showing every process")
        }),
        Some(other) => Err(format!(
            "[plugins.processlist] max = {other:?}: must be an integer; showing every process"
        )),
    }
}

/// Whether a PID seen on the previous tick is still the same process (not a reused PID).
/// One second of slack: start times derive from boot time and clock ticks, which may round.
fn same_process(old_create_time: f64, new_create_time: f64) -> bool {
    (old_create_time - new_create_time).abs() < 1.0
}

/// CPU use since the previous tick in percent of one core, as psutil computes it (so a busy
/// multi-threaded process can exceed 100). 0 on a process's first tick.
fn cpu_percent(previous_cpu: Option<f64>, cpu: f64, elapsed: f64) -> f64 {
    match previous_cpu {
        Some(old) if elapsed > 0.0 => round1(((cpu - old) / elapsed * 100.0).max(0.0)),
        _ => 0.0,
    }
}

/// `part` in percent of `whole`, unrounded (0 when `whole` is 0).
fn share(part: u64, whole: u64) -> f64 {
    if whole > 0 {
        part as f64 * 100.0 / whole as f64
    } else {
        0.0
    }
}

/// Glances' `io_counters`: `[read, write, read_old, write_old, tag]`. On a process's first
/// tick the old values repeat the new ones with tag 0 (no rate yet), as Glances does;
/// unreadable I/O (another user's process) is all zeros.
fn io_counters(now: Option<(u64, u64)>, old: Option<(u64, u64)>) -> Vec<i64> {
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    match (now, old) {
        (None, _) => vec![0, 0, 0, 0, 0],
        (Some((r, w)), Some((ro, wo))) => vec![int(r), int(w), int(ro), int(wo), 1],
        (Some((r, w)), None) => vec![int(r), int(w), int(r), int(w), 0],
    }
}

/// Glances' automatic sort: CPU descending, then memory descending; PID ascending breaks
/// ties so the order is stable from tick to tick.
fn sort_entries(entries: &mut [Entry]) {
    entries.sort_unstable_by(|a, b| {
        b.cpu_percent
            .total_cmp(&a.cpu_percent)
            .then(b.memory_percent.total_cmp(&a.memory_percent))
            .then(a.process.pid.cmp(&b.process.pid))
    });
}

glint_sdk::export_input!(ProcessList);

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32) -> Process {
        Process {
            pid,
            ppid: 1,
            name: format!("p{pid}"),
            cmdline: Vec::new(),
            username: "root".into(),
            status: "S".into(),
            nice: 0,
            num_threads: 1,
            cpu_user: 0.0,
            cpu_system: 0.0,
            cpu_children_user: 0.0,
            cpu_children_system: 0.0,
            cpu_iowait: 0.0,
            memory_rss: 0,
            memory_vms: 0,
            memory_shared: 0,
            memory_text: 0,
            memory_data: 0,
            io_read_bytes: None,
            io_write_bytes: None,
            create_time: 0.0,
            uid: 0,
            gid: 0,
            cpu_num: 0,
        }
    }

    fn entry(pid: u32, cpu_percent: f64, memory_percent: f64) -> Entry {
        Entry {
            cpu_percent,
            memory_percent,
            io_counters: Vec::new(),
            process: process(pid),
        }
    }

    #[test]
    fn cpu_percent_is_delta_over_elapsed_per_core() {
        // 0.5 s of CPU in 2 s: 25 % of one core.
        assert_eq!(cpu_percent(Some(10.0), 10.5, 2.0), 25.0);
        // Two cores busy for the whole second: 200 %, like psutil.
        assert_eq!(cpu_percent(Some(1.0), 3.0, 1.0), 200.0);
    }

    #[test]
    fn cpu_percent_is_zero_on_first_tick_or_no_elapsed_time() {
        assert_eq!(cpu_percent(None, 10.0, 2.0), 0.0);
        assert_eq!(cpu_percent(Some(1.0), 2.0, 0.0), 0.0);
        // A counter that went backwards never gives a negative share.
        assert_eq!(cpu_percent(Some(5.0), 4.0, 1.0), 0.0);
    }

    #[test]
    fn io_counters_follow_glances() {
        assert_eq!(io_counters(None, Some((1, 2))), [0, 0, 0, 0, 0]);
        assert_eq!(io_counters(Some((10, 20)), None), [10, 20, 10, 20, 0]);
        assert_eq!(io_counters(Some((10, 20)), Some((4, 5))), [10, 20, 4, 5, 1]);
        assert_eq!(io_counters(Some((u64::MAX, 0)), None)[0], i64::MAX);
    }

    #[test]
    fn reused_pid_is_a_new_process() {
        assert!(same_process(1000.0, 1000.3));
        assert!(!same_process(1000.0, 1500.0));
    }

    #[test]
    fn memory_share_of_total() {
        assert_eq!(share(512, 2048), 25.0);
        assert_eq!(share(5, 0), 0.0);
    }

    #[test]
    fn sorts_by_cpu_then_memory_then_pid() {
        let mut entries = vec![
            entry(1, 0.0, 5.0),
            entry(2, 10.0, 1.0),
            entry(3, 10.0, 2.0),
            entry(4, 0.0, 5.0),
            entry(5, 50.0, 0.0),
        ];
        sort_entries(&mut entries);
        let pids: Vec<u32> = entries.iter().map(|e| e.process.pid).collect();
        assert_eq!(pids, [5, 3, 2, 1, 4]);
    }

    #[test]
    fn max_option() {
        let cfg = |v: ConfigValue| vec![("max".to_string(), v)];
        assert_eq!(max_rows(&[]), Ok(None));
        assert_eq!(max_rows(&cfg(ConfigValue::Int(0))), Ok(None));
        assert_eq!(max_rows(&cfg(ConfigValue::Int(20))), Ok(Some(20)));
        assert!(max_rows(&cfg(ConfigValue::Int(-1))).is_err());
        assert!(max_rows(&cfg(ConfigValue::Text("ten".into()))).is_err());
    }
}
