//! processcount: how many processes there are in each state, how many threads they run and
//! the kernel's PID limit (Glances' `processcount` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct ProcessCount;

impl InputPlugin for ProcessCount {
    fn info() -> PluginInfo {
        let n = |name: &str, desc: &str| field(name, Unit::Number, desc);
        plugin(
            "processcount",
            "Processes by state and threads",
            Layout::Record,
        )
        .field(n("total", "Number of processes.").history())
        .field(n("running", "Processes running or runnable (R).").history())
        .field(n("sleeping", "Processes in interruptible sleep (S).").history())
        .field(n("idle", "Idle kernel threads (I)."))
        .field(n(
            "disk_sleep",
            "Processes in uninterruptible sleep, usually I/O (D).",
        ))
        .field(n(
            "zombie",
            "Processes that exited and wait for their parent (Z).",
        ))
        .field(n("stopped", "Processes stopped or traced (T, t)."))
        .field(n("thread", "Threads of all processes.").history())
        .field(n(
            "pid_max",
            "Highest PID plus one (/proc/sys/kernel/pid_max).",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let processes = readings::get_processes();
        let totals = readings::get_process_totals();
        let c = count(processes.iter().map(|p| (p.status.as_str(), p.num_threads)));
        Ok(Row::new()
            .set("total", c.total)
            .set("running", c.running)
            .set("sleeping", c.sleeping)
            .set("idle", c.idle)
            .set("disk_sleep", c.disk_sleep)
            .set("zombie", c.zombie)
            .set("stopped", c.stopped)
            .set("thread", c.thread)
            .set("pid_max", totals.pid_max)
            .into_table())
    }
}

#[derive(Debug, Default, PartialEq)]
struct Counts {
    total: u64,
    running: u64,
    sleeping: u64,
    idle: u64,
    disk_sleep: u64,
    zombie: u64,
    stopped: u64,
    thread: u64,
}

/// Counts processes by their /proc status letter and sums their threads. Letters outside
/// the list (`X` dead, `W` paging, `P` parked) count only in the total.
fn count<'a>(processes: impl Iterator<Item = (&'a str, u32)>) -> Counts {
    let mut c = Counts::default();
    for (status, threads) in processes {
        c.total += 1;
        c.thread += u64::from(threads);
        match status.chars().next() {
            Some('R') => c.running += 1,
            Some('S') => c.sleeping += 1,
            Some('I') => c.idle += 1,
            Some('D') => c.disk_sleep += 1,
            Some('Z') => c.zombie += 1,
            Some('T' | 't') => c.stopped += 1,
            _ => {}
        }
    }
    c
}

glint_sdk::export_input!(ProcessCount);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_status_and_sums_threads() {
        let procs = [
            ("R", 1),
            ("S", 4),
            ("S", 2),
            ("I", 1),
            ("D", 1),
            ("Z", 1),
            ("T", 1),
            ("t", 3),
            ("X", 1),
        ];
        let c = count(procs.iter().copied());
        assert_eq!(
            c,
            Counts {
                total: 9,
                running: 1,
                sleeping: 2,
                idle: 1,
                disk_sleep: 1,
                zombie: 1,
                stopped: 2,
                thread: 15,
            }
        );
    }

    #[test]
    fn no_processes_counts_nothing() {
        assert_eq!(count(std::iter::empty()), Counts::default());
    }
}
