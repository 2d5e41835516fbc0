//! `ProcessTotals`: counts over the process list of a tick, and the PID limit.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_number;
use crate::process_state::Process;
use crate::source::Source;

/// WIT `process-totals`: counts over a process list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessTotals {
    /// Highest PID plus one (/proc/sys/kernel/pid_max).
    pub pid_max: u64,
    pub total: u32,
    pub running: u32,
    pub sleeping: u32,
    pub idle: u32,
    pub disk_sleep: u32,
    pub zombie: u32,
    pub stopped: u32,
    pub threads: u32,
}

/// Counts `processes` (the list `processes()` returned this tick) by state.
pub fn process_totals(src: &Source, processes: &[Process]) -> Result<ProcessTotals, CollectError> {
    let mut t = ProcessTotals {
        pid_max: read_number(&src.proc_path("sys/kernel/pid_max"))?.unwrap_or(0),
        total: u32::try_from(processes.len()).unwrap_or(u32::MAX),
        ..ProcessTotals::default()
    };
    for p in processes {
        t.threads = t.threads.saturating_add(p.num_threads);
        let count = match p.status.as_str() {
            "R" => &mut t.running,
            "S" => &mut t.sleeping,
            "I" => &mut t.idle,
            "D" => &mut t.disk_sleep,
            "Z" => &mut t.zombie,
            "T" | "t" => &mut t.stopped,
            _ => continue,
        };
        *count += 1;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_each_state_and_sum_threads() {
        let procs: Vec<Process> = [
            ("R", 1),
            ("S", 4),
            ("S", 2),
            ("I", 1),
            ("D", 1),
            ("Z", 1),
            ("T", 1),
            ("t", 3),
            // Dead: counted in the total only.
            ("X", 1),
        ]
        .iter()
        .map(|(status, threads)| Process {
            status: status.to_string(),
            num_threads: *threads,
            ..Process::default()
        })
        .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let t = process_totals(&Source::fixture(dir.path()), &procs).expect("totals");
        assert_eq!(
            t,
            ProcessTotals {
                pid_max: 0,
                total: 9,
                running: 1,
                sleeping: 2,
                idle: 1,
                disk_sleep: 1,
                zombie: 1,
                stopped: 2,
                threads: 15,
            }
        );
    }
}
