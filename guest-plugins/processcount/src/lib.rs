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
        // The host counts its own process list: no copy of every record into the sandbox.
        let t = readings::get_process_totals();
        Ok(Row::new()
            .set("total", t.total)
            .set("running", t.running)
            .set("sleeping", t.sleeping)
            .set("idle", t.idle)
            .set("disk_sleep", t.disk_sleep)
            .set("zombie", t.zombie)
            .set("stopped", t.stopped)
            .set("thread", t.threads)
            .set("pid_max", t.pid_max)
            .into_table())
    }
}

glint_sdk::export_input!(ProcessCount);
