//! `Source`: where readings come from (the live /proc, /sys, /etc or a recorded fixture tree) and
//! the caches kept between ticks; plus the file-reading helpers every collector shares.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::CollectError;
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
    pub(crate) identities: crate::processes::Identities,
    /// The /proc/PID files kept open between scans (see `processes`).
    pub(crate) open_files: crate::processes::OpenFiles,
    /// The pids of the last scan, listed again only when some were created (see `processes`).
    pub(crate) listing: crate::processes::Listings,
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

/// What [`read_text`] reads at once: every /proc and /sys file a tick reads fits (the biggest,
/// /proc/interrupts and /proc/self/mountinfo, are a few KiB on a small machine), and a bigger
/// one just takes more reads.
const READ_CHUNK: usize = 16 << 10;

/// Files of /proc and /sys kept open between reads: a tick reads ~40 on a small machine (three
/// or four per network interface). Descriptors are the bound: the process scan keeps up to 900
/// open (see `processes`), and 64 more still leave the server room under the usual soft limit
/// of 1,024.
const KEPT_FILES: usize = 64;

/// The /proc and /sys files read before, open, by path. Reading one again from offset 0 makes
/// the kernel produce it afresh, so a tick's read of it costs no path lookup, open or close.
/// A kept file that fails (its device or interface is gone) is dropped and the path opened
/// again: a file that is gone reads as gone. When the cache is full every file is dropped, so
/// the files of interfaces long gone make room and the ones still read are kept again. Each
/// behind its own lock, so that a file of several chunks is read from one production of it.
static KEPT: Mutex<BTreeMap<PathBuf, Arc<Mutex<File>>>> = Mutex::new(BTreeMap::new());

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

/// The whole text of `path`, read in as few system calls as the kernel allows.
///
/// Not `std::fs::read_to_string`: /proc and /sys files say they are empty (or 4 KiB) to
/// `statx`, so it asks for their size (two more system calls), then reads 32 bytes and grows
/// from there, a read per doubling: half a dozen system calls for a 2 KiB file where this
/// takes two (the data, then the end). The end of a seq_file of many records (mountinfo,
/// interrupts) is read, not assumed from a short read: it hands out a page per read. A sysfs
/// attribute or a sysctl value is made in one call, so there a short read is the end: one
/// system call (see [`Production`]).
///
/// Files of the live /proc and /sys stay open for the next read (see [`KEPT`]); others (a
/// fixture's, /etc) are opened each time, so a file replaced or removed is read as it is now.
pub(crate) fn read_text(path: &Path) -> io::Result<String> {
    let keep = path.starts_with("/proc/") || path.starts_with("/sys/");
    let production = Production::of(path);
    if keep {
        let kept = KEPT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned();
        if let Some(file) = kept {
            let read = read_whole(
                &file.lock().unwrap_or_else(PoisonError::into_inner),
                production,
            );
            match read {
                Ok(text) => return Ok(text),
                // The attribute has no value now (`speed` of a link that is down): the file
                // stays open for the next tick.
                Err(e) if no_value_now(&e) => return Err(e),
                Err(_) => {
                    KEPT.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(path);
                }
            }
        }
    }
    let file = File::open(path)?;
    let read = read_whole(&file, production);
    let open_for_next = match &read {
        Ok(_) => true,
        Err(e) => no_value_now(e),
    };
    if keep && open_for_next {
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= KEPT_FILES {
            kept.clear();
        }
        kept.insert(path.to_path_buf(), Arc::new(Mutex::new(file)));
    }
    read
}

/// `EINVAL`: what sysfs answers for an attribute its device cannot give now (the `speed` of a
/// virtual or unplugged link). The file is still the device's: unlike `ENODEV` (the device is
/// gone), it may read again later.
fn no_value_now(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

/// How the kernel hands a file out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Production {
    /// Made whole by one call (a sysfs attribute, at most a page; a sysctl value), so a read
    /// that leaves room in the buffer is the end.
    OneCall,
    /// A seq_file of many records (mountinfo, interrupts), handed out a page per read even
    /// when there is more: only a read of 0 is the end.
    Records,
}

impl Production {
    fn of(path: &Path) -> Production {
        if path.starts_with("/sys/") || path.starts_with("/proc/sys/") {
            Production::OneCall
        } else {
            Production::Records
        }
    }
}

/// A page: a sysfs attribute is at most one, and a sysctl value is read into a kernel
/// buffer as big as the read, so a smaller first read costs the kernel less.
const ONE_CALL_CHUNK: usize = 4 << 10;

/// All of `file` from offset 0, as text.
fn read_whole(file: &File, production: Production) -> io::Result<String> {
    let first = match production {
        Production::OneCall => ONE_CALL_CHUNK,
        Production::Records => READ_CHUNK,
    };
    let mut buf = vec![0; first];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if production == Production::OneCall && len < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The whole text of `path`; `None` when the file does not exist (the machine lacks it).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            Err(CollectError::parse(path, "not UTF-8 text"))
        }
        Err(e) => Err(CollectError::read(path, e)),
    }
}

/// Like [`read_optional`], without the trailing newline sysfs and procctl files end with.
pub(crate) fn read_trimmed(path: &Path) -> Result<Option<String>, CollectError> {
    Ok(read_optional(path)?.map(|text| text.trim().to_string()))
}

/// A one-number file (`/proc/sys/kernel/pid_max`, sysfs attributes); `None` when absent.
pub(crate) fn read_number<T: std::str::FromStr>(path: &Path) -> Result<Option<T>, CollectError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(text) => {
            text.trim().parse().map(Some).map_err(|_| {
                CollectError::parse(path, format!("expected a number, found {text:?}"))
            })
        }
    }
}

/// Directory entries of `dir` sorted by name; empty when `dir` does not exist.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>, CollectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::read(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::read(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
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
    fn a_kept_proc_file_is_read_afresh() {
        // /proc/uptime moves every 10 ms; the second read goes through the kept file.
        let path = Path::new("/proc/uptime");
        let first = read_text(path).expect("read /proc/uptime");
        std::thread::sleep(std::time::Duration::from_millis(50));
        let second = read_text(path).expect("read /proc/uptime again");
        assert!(KEPT.lock().expect("lock").contains_key(path));
        assert_ne!(first, second);
        assert!(second.ends_with('\n') && second.split_whitespace().count() == 2);
    }

    #[test]
    fn a_sysfs_attribute_without_a_value_now_stays_open_and_one_with_reads_whole() {
        // Every Linux has `lo`; the kernel has no speed for it (EINVAL), and an MTU.
        let speed = Path::new("/sys/class/net/lo/speed");
        for _ in 0..2 {
            let err = read_text(speed).expect_err("lo has a speed");
            assert!(no_value_now(&err), "{err}");
            assert!(KEPT.lock().expect("lock").contains_key(speed));
        }
        let mtu = Path::new("/sys/class/net/lo/mtu");
        let text = read_text(mtu).expect("read lo's mtu");
        assert_eq!(read_text(mtu).expect("read lo's mtu again"), text);
        assert!(text.trim().parse::<u32>().is_ok_and(|n| n > 0), "{text:?}");
        // A file that is not a sysfs attribute or a sysctl is read to its end.
        assert_eq!(
            Production::of(Path::new("/proc/self/mountinfo")),
            Production::Records
        );
        assert_eq!(
            Production::of(Path::new("/proc/sys/kernel/pid_max")),
            Production::OneCall
        );
    }

    #[test]
    fn missing_files_are_none_and_bad_ones_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_optional(&dir.path().join("nope")).expect("absent"),
            None
        );
        let bin = dir.path().join("bin");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).expect("write");
        let err = read_optional(&bin)
            .expect_err("binary accepted")
            .to_string();
        assert!(err.contains("not UTF-8"), "{err}");
        let num = dir.path().join("num");
        std::fs::write(&num, "12x\n").expect("write");
        let err = read_number::<u64>(&num)
            .expect_err("12x accepted")
            .to_string();
        assert!(err.contains("\"12x\\n\""), "{err}");
        std::fs::write(&num, "42\n").expect("write");
        assert_eq!(read_number::<u64>(&num).expect("42"), Some(42));
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
