//! `CpuStats`: CPU times (total and per CPU) and scheduler counters from /proc/stat; also the
//! boot time other readings derive from it.

use procfs::{CpuTime, ExplicitSystemInfo, FromBufReadSI, KernelStats};
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::{Source, read_once};

/// WIT `cpu-times`: time spent in each mode since boot, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuTimes {
    pub user: f64,
    pub nice: f64,
    pub system: f64,
    pub idle: f64,
    pub iowait: f64,
    pub irq: f64,
    pub softirq: f64,
    pub steal: f64,
    pub guest: f64,
    pub guest_nice: f64,
}

/// WIT `cpu-stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuStats {
    pub total: CpuTimes,
    pub per_cpu: Vec<CpuTimes>,
    pub ctx_switches: u64,
    pub interrupts: u64,
    pub soft_interrupts: u64,
    /// System calls; Linux does not count them (always 0 there).
    pub syscalls: u64,
}

pub fn cpu_stats(src: &Source) -> Result<CpuStats, CollectError> {
    let Some(stat) = read_kernel_stats(src)? else {
        return Ok(CpuStats::default());
    };
    let times = |t: &CpuTime| CpuTimes {
        user: src.ticks_to_secs(t.user),
        nice: src.ticks_to_secs(t.nice),
        system: src.ticks_to_secs(t.system),
        idle: src.ticks_to_secs(t.idle),
        iowait: src.ticks_to_secs(t.iowait.unwrap_or(0)),
        irq: src.ticks_to_secs(t.irq.unwrap_or(0)),
        softirq: src.ticks_to_secs(t.softirq.unwrap_or(0)),
        steal: src.ticks_to_secs(t.steal.unwrap_or(0)),
        guest: src.ticks_to_secs(t.guest.unwrap_or(0)),
        guest_nice: src.ticks_to_secs(t.guest_nice.unwrap_or(0)),
    };
    Ok(CpuStats {
        total: times(&stat.kernel.total),
        per_cpu: stat.kernel.cpu_time.iter().map(times).collect(),
        ctx_switches: stat.kernel.ctxt,
        interrupts: stat.interrupts,
        soft_interrupts: stat.soft_interrupts,
        syscalls: 0,
    })
}

/// /proc/stat: what procfs parses, plus the two totals it skips.
pub(crate) struct Stat {
    pub kernel: KernelStats,
    /// First number of the `intr` line: all interrupts since boot.
    pub interrupts: u64,
    /// First number of the `softirq` line.
    pub soft_interrupts: u64,
}

/// Parses /proc/stat; `None` when the file is absent.
pub(crate) fn read_kernel_stats(src: &Source) -> Result<Option<Stat>, CollectError> {
    let path = src.proc_path("stat");
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    // Only the tick rate matters to this parser; the times are kept in ticks and converted here.
    let info = ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: src.ticks_per_second,
        page_size: src.page_size,
        is_little_endian: cfg!(target_endian = "little"),
    };
    let kernel = KernelStats::from_buf_read(text.as_bytes(), &info)
        .map_err(|e| CollectError::procfs(&path, e))?;
    let first_number = |prefix: &str| -> Result<u64, CollectError> {
        let Some(line) = text.lines().find(|l| l.starts_with(prefix)) else {
            // Both lines exist since Linux 2.6; an older kernel simply does not count.
            return Ok(0);
        };
        let value = line[prefix.len()..].split_whitespace().next().unwrap_or("");
        value
            .parse()
            .map_err(|_| CollectError::parse(&path, format!("bad total {value:?} in {line:?}")))
    };
    Ok(Some(Stat {
        interrupts: first_number("intr ")?,
        soft_interrupts: first_number("softirq ")?,
        kernel,
    }))
}

/// Boot time in seconds since the epoch (`btime`), 0 when /proc/stat is absent; read once per
/// `Source`.
pub(crate) fn boot_time(src: &Source) -> Result<u64, CollectError> {
    read_once(&src.boot_time, || {
        Ok(read_kernel_stats(src)?.map_or(0, |s| s.kernel.btime))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_with_stat(text: &str) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc")).expect("mkdir");
        std::fs::write(dir.path().join("proc/stat"), text).expect("write");
        let src = Source::fixture(dir.path());
        (dir, src)
    }

    #[test]
    fn old_kernels_with_four_columns_and_no_intr_lines() {
        let (_dir, src) = source_with_stat(
            "cpu  100 200 300 400\ncpu0 100 200 300 400\nctxt 5\nbtime 7\nprocesses 9\n",
        );
        let stats = cpu_stats(&src).expect("cpu_stats");
        assert_eq!(stats.total.user, 1.0);
        assert_eq!(stats.total.idle, 4.0);
        assert_eq!(stats.total.iowait, 0.0);
        assert_eq!(stats.per_cpu.len(), 1);
        assert_eq!(
            (stats.ctx_switches, stats.interrupts, stats.soft_interrupts),
            (5, 0, 0)
        );
        assert_eq!(boot_time(&src).expect("btime"), 7);
    }

    #[test]
    fn a_garbled_intr_total_names_the_file() {
        let (_dir, src) =
            source_with_stat("cpu  1 2 3 4\nintr x 1\nctxt 5\nbtime 7\nprocesses 9\nsoftirq 3 1\n");
        let err = cpu_stats(&src).expect_err("garbage accepted").to_string();
        assert!(err.contains("proc/stat"), "{err}");
        assert!(err.contains("\"x\""), "{err}");
    }

    #[test]
    fn a_stat_without_btime_is_an_error_not_a_panic() {
        let (_dir, src) = source_with_stat("cpu  1 2 3 4\nctxt 5\nprocesses 9\n");
        let err = cpu_stats(&src)
            .expect_err("missing btime accepted")
            .to_string();
        assert!(err.contains("proc/stat"), "{err}");
    }
}
