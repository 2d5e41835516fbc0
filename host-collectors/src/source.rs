//! `Source`: where readings come from (the live /proc, /sys, /etc or a recorded fixture tree) and
//! the caches kept between ticks. The caches' types are defined below it (`users`,
//! `process_state`), so that the collectors that fill them depend on `Source`, not it on them.

use std::fmt;
use std::path::PathBuf;

use crate::error::CollectError;
use crate::process_state::{Identities, Listings, OpenFiles};
use crate::syscalls::{FixtureSyscalls, LiveSyscalls, Syscalls};
use crate::users::Users;

/// The machine to read: file roots, system calls, and what is cached between calls.
///
/// `Send + Sync`: the runtime calls collectors from several threads at once; the caches inside
/// are behind mutexes.
pub struct Source {
    pub(crate) proc_root: PathBuf,
    pub(crate) sys_root: PathBuf,
    pub(crate) etc_root: PathBuf,
    /// Relative folder paths are resolved here (a fixture's directory); live paths are taken as
    /// the operator wrote them.
    pub(crate) folder_base: Option<PathBuf>,
    /// Never 0: a fixture saying 0 would turn every CPU time into infinity.
    pub(crate) ticks_per_second: u64,
    /// Never 0, for the same reason.
    pub(crate) page_size: u64,
    pub(crate) syscalls: Box<dyn Syscalls>,
    /// uid → user name, reloaded when /etc/passwd changes.
    pub(crate) users: Users,
    /// `btime` of /proc/stat, read once: the kernel makes the whole file (every IRQ's count
    /// summed) to give it, and it only moves when the clock is stepped.
    pub(crate) boot_time: std::sync::OnceLock<u64>,
    /// `ostype` and `osrelease` of /proc/sys/kernel, read once: they are the running kernel's,
    /// and only a reboot changes it.
    pub(crate) kernel: std::sync::OnceLock<(String, String)>,
    /// The distribution's name from os-release, read once: it changes only when the system
    /// is upgraded, as Glances' `distro` reads it once too.
    pub(crate) distro: std::sync::OnceLock<String>,
    /// The CPUs' maximum frequency (cpufreq's `cpuinfo_max_freq`), MHz, read once: the
    /// hardware's.
    pub(crate) cpu_max_mhz: std::sync::OnceLock<f64>,
    /// Command lines and owners of the processes seen last scan (see `processes`).
    pub(crate) identities: Identities,
    /// The /proc/PID files kept open between scans (see `processes`).
    pub(crate) open_files: OpenFiles,
    /// The pids of the last scan, listed again only when some were created (see `processes`).
    pub(crate) listing: Listings,
    /// Whether `proc_root` shows this process's own pid namespace, asked once.
    pub(crate) own_pid_namespace: std::sync::OnceLock<bool>,
}

impl Source {
    /// This machine: /proc, /sys, /etc and live system calls.
    pub fn live() -> Source {
        Source::new(
            PathBuf::from("/proc"),
            PathBuf::from("/sys"),
            PathBuf::from("/etc"),
            None,
            Box::new(LiveSyscalls::new()),
        )
    }

    /// A recorded machine: `dir/proc`, `dir/sys`, `dir/etc`, and `dir/syscalls.json` for what
    /// is not a file. Anything missing reads as a machine that lacks it.
    pub fn fixture(dir: impl Into<PathBuf>) -> Source {
        let dir = dir.into();
        let syscalls = FixtureSyscalls::load(dir.join("syscalls.json"));
        Source::new(
            dir.join("proc"),
            dir.join("sys"),
            dir.join("etc"),
            Some(dir),
            Box::new(syscalls),
        )
    }

    fn new(
        proc_root: PathBuf,
        sys_root: PathBuf,
        etc_root: PathBuf,
        folder_base: Option<PathBuf>,
        syscalls: Box<dyn Syscalls>,
    ) -> Source {
        Source {
            proc_root,
            sys_root,
            etc_root,
            folder_base,
            ticks_per_second: syscalls.ticks_per_second().max(1),
            page_size: syscalls.page_size().max(1),
            syscalls,
            users: Users::default(),
            boot_time: std::sync::OnceLock::new(),
            kernel: std::sync::OnceLock::new(),
            distro: std::sync::OnceLock::new(),
            cpu_max_mhz: std::sync::OnceLock::new(),
            identities: Default::default(),
            open_files: Default::default(),
            listing: Default::default(),
            own_pid_namespace: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn proc_path(&self, rel: &str) -> PathBuf {
        self.proc_root.join(rel)
    }

    pub(crate) fn sys_path(&self, rel: &str) -> PathBuf {
        self.sys_root.join(rel)
    }

    pub(crate) fn etc_path(&self, rel: &str) -> PathBuf {
        self.etc_root.join(rel)
    }

    /// Clock ticks to seconds.
    pub(crate) fn ticks_to_secs(&self, ticks: u64) -> f64 {
        ticks as f64 / self.ticks_per_second as f64
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("proc_root", &self.proc_root)
            .field("sys_root", &self.sys_root)
            .field("etc_root", &self.etc_root)
            .field("ticks_per_second", &self.ticks_per_second)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// The value in `cell`, read by `read` the first time (a failed read is tried again next
/// time): what only a reboot or an upgrade changes is read once per Source.
pub(crate) fn read_once<T: Clone>(
    cell: &std::sync::OnceLock<T>,
    read: impl FnOnce() -> Result<T, CollectError>,
) -> Result<T, CollectError> {
    if let Some(known) = cell.get() {
        return Ok(known.clone());
    }
    let value = read()?;
    Ok(cell.get_or_init(|| value).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn source_is_send_and_sync() {
        assert_send_sync::<Source>();
    }

    #[test]
    fn zero_ticks_in_a_fixture_do_not_divide_by_zero() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("syscalls.json"),
            r#"{"ticks_per_second": 0, "page_size": 0}"#,
        )
        .expect("write");
        let src = Source::fixture(dir.path());
        assert_eq!(src.ticks_per_second, 1);
        assert_eq!(src.page_size, 1);
        assert_eq!(src.ticks_to_secs(250), 250.0);
    }
}
