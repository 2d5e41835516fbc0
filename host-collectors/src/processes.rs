//! `Process` and `ProcessTotals`: every process of /proc (stat, statm, io, cmdline and the owner
//! of its directory) and the PID limit.
//!
//! This is the hot path: a busy machine has 1,000+ processes and the scan runs every tick. Each
//! process costs four small reads and one stat of its directory, into buffers reused across the
//! scan.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use procfs::FromRead;
use procfs::process::{Stat, StatM};
use serde::{Deserialize, Serialize};

use crate::cpu_stats::boot_time;
use crate::error::CollectError;
use crate::source::{Source, read_number};

/// WIT `process`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
    pub cmdline: Vec<String>,
    pub username: String,
    /// One letter, as in /proc/PID/stat (`R`, `S`, `D`, `Z`, `T`, `I`).
    pub status: String,
    pub nice: i32,
    pub num_threads: u32,
    /// Seconds of CPU since the process started.
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub cpu_children_user: f64,
    pub cpu_children_system: f64,
    pub cpu_iowait: f64,
    /// Bytes.
    pub memory_rss: u64,
    pub memory_vms: u64,
    pub memory_shared: u64,
    pub memory_text: u64,
    pub memory_data: u64,
    /// Bytes read and written since the process started; none when not readable.
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
    /// Seconds since the Unix epoch.
    pub create_time: f64,
    pub uid: u32,
    pub gid: u32,
    /// The CPU it last ran on.
    pub cpu_num: u32,
}

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

/// `PF_KTHREAD` of the `flags` field of /proc/PID/stat (include/linux/sched.h): a kernel
/// thread.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Processes per scanning thread: below this a thread costs more than it saves.
const PIDS_PER_WORKER: usize = 32;

/// Every process, by ascending pid. One that exits during the scan is left out.
pub fn processes(src: &Source) -> Result<Vec<Process>, CollectError> {
    let entries = match std::fs::read_dir(&src.proc_root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::read(&src.proc_root, e)),
    };
    let mut pids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::read(&src.proc_root, e))?;
        let name = entry.file_name();
        // Not a process: `self`, `net`, `meminfo`...
        if let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) {
            pids.push(pid);
        }
    }
    let boot_time = boot_time(src)? as f64;
    let users = src.users.names(&src.etc_path("passwd"))?;
    // The kernel takes ~40 µs per process to produce its four files on a small VM: on the
    // tick's critical path. Scan in parallel across cores, in chunks big enough that a
    // thread is worth starting.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(pids.len().div_ceil(PIDS_PER_WORKER).max(1));
    let chunk = pids.len().div_ceil(workers).max(1);
    let scan_chunk = |pids: &[u32]| -> Result<Vec<Process>, CollectError> {
        let mut scan = Scan {
            src,
            boot_time,
            users: users.clone(),
            path: PathBuf::new(),
            // A stat line is ~300 bytes, a long command line a few KB: one page-ish buffer
            // rarely grows.
            buf: Vec::with_capacity(4096),
        };
        let mut out = Vec::with_capacity(pids.len());
        for &pid in pids {
            scan.path.clear();
            scan.path.push(&src.proc_root);
            scan.path.push(pid.to_string());
            if let Some(process) = scan.process(pid)? {
                out.push(process);
            }
        }
        Ok(out)
    };
    let mut out = Vec::with_capacity(pids.len());
    if workers <= 1 {
        out = scan_chunk(&pids)?;
    } else {
        let parts: Vec<Result<Vec<Process>, CollectError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = pids
                .chunks(chunk)
                .map(|part| scope.spawn(move || scan_chunk(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(CollectError::Parse {
                            path: src.proc_root.clone(),
                            what: "a process scan thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        for part in parts {
            out.extend(part?);
        }
    }
    // /proc lists in pid order already; a fixture directory does not.
    out.sort_unstable_by_key(|p| p.pid);
    Ok(out)
}

/// Counts `processes` (the list [`processes`] returned this tick) by state.
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

/// State shared by every process of one scan.
struct Scan<'a> {
    src: &'a Source,
    boot_time: f64,
    users: std::sync::Arc<HashMap<u32, String>>,
    /// `/proc/PID`, then `/proc/PID/FILE` while a file is read.
    path: PathBuf,
    buf: Vec<u8>,
}

impl Scan<'_> {
    /// Reads `self.path/file` into `self.buf`; `false` when it cannot be read.
    fn read(&mut self, file: &str) -> bool {
        self.path.push(file);
        self.buf.clear();
        let ok = File::open(&self.path)
            .and_then(|mut f| read_all(&mut f, &mut self.buf))
            .is_ok();
        self.path.pop();
        ok
    }

    /// The process whose directory is `self.path`; `None` if it vanished or cannot be seen.
    ///
    /// Any failed read of stat, statm or cmdline, or of the directory's owner, means the process
    /// exited mid-scan (ENOENT, ESRCH, an empty read) or is hidden from us (`hidepid`): skip it.
    fn process(&mut self, pid: u32) -> Result<Option<Process>, CollectError> {
        let src = self.src;
        if !self.read("stat") {
            return Ok(None);
        }
        let Some(stat) = self.parse_stat()? else {
            return Ok(None);
        };
        // A kernel thread has no memory map and no command line: its statm is all zeros and
        // its cmdline empty. A third of a small machine's processes are kernel threads; not
        // asking the kernel for those two files saves a sixth of the scan.
        let (statm, cmdline) = if stat.flags & PF_KTHREAD != 0 {
            let none = StatM {
                size: 0,
                resident: 0,
                shared: 0,
                text: 0,
                lib: 0,
                data: 0,
                dt: 0,
            };
            (none, Vec::new())
        } else {
            if !self.read("statm") {
                return Ok(None);
            }
            let statm = StatM::from_read(&self.buf[..])
                .map_err(|e| CollectError::procfs(&self.path.join("statm"), e))?;
            if !self.read("cmdline") {
                return Ok(None);
            }
            (statm, split_cmdline(&self.buf))
        };
        // Unreadable for other users' processes (and for some of our own under a ptrace
        // policy): that is the `none` of the record, not an error.
        let io = if self.read("io") {
            parse_io(&self.buf)
        } else {
            None
        };
        let Ok((uid, gid)) = src.syscalls.owner(pid, &self.path) else {
            return Ok(None);
        };

        let secs = |ticks: u64| src.ticks_to_secs(ticks);
        let signed_secs = |ticks: i64| secs(u64::try_from(ticks).unwrap_or(0));
        let bytes = |pages: u64| pages.saturating_mul(src.page_size);
        Ok(Some(Process {
            pid,
            ppid: u32::try_from(stat.ppid).unwrap_or(0),
            cmdline,
            username: self
                .users
                .get(&uid)
                .cloned()
                .unwrap_or_else(|| uid.to_string()),
            status: stat.state.to_string(),
            nice: i32::try_from(stat.nice).unwrap_or(0),
            num_threads: u32::try_from(stat.num_threads).unwrap_or(0),
            cpu_user: secs(stat.utime),
            cpu_system: secs(stat.stime),
            cpu_children_user: signed_secs(stat.cutime),
            cpu_children_system: signed_secs(stat.cstime),
            cpu_iowait: secs(stat.delayacct_blkio_ticks.unwrap_or(0)),
            memory_rss: bytes(statm.resident),
            memory_vms: bytes(statm.size),
            memory_shared: bytes(statm.shared),
            memory_text: bytes(statm.text),
            memory_data: bytes(statm.data),
            io_read_bytes: io.as_ref().map(|io| io.read_bytes),
            io_write_bytes: io.as_ref().map(|io| io.write_bytes),
            create_time: self.boot_time + secs(stat.starttime),
            uid,
            gid,
            cpu_num: stat
                .processor
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            name: stat.comm,
        }))
    }

    /// `self.buf` as /proc/PID/stat; `None` when empty (the process exited as we read).
    fn parse_stat(&self) -> Result<Option<Stat>, CollectError> {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let path = || self.path.join("stat");
        if !stat_is_sliceable(text) {
            return Err(CollectError::parse(
                &path(),
                format!("no `pid (comm) state` in {text:?}"),
            ));
        }
        Stat::from_read(text.as_bytes())
            .map(Some)
            .map_err(|e| CollectError::procfs(&path(), e))
    }
}

/// Whether procfs's `Stat` parser can slice `text` without panicking: it takes the pid before
/// the first `(`, the name up to the last `)`, and the fields from two bytes past it.
fn stat_is_sliceable(text: &str) -> bool {
    let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
        return false;
    };
    open >= 1
        && text.is_char_boundary(open - 1)
        && close > open
        && close + 2 <= text.len()
        && text.is_char_boundary(close + 2)
}

/// Reads a whole file into `buf` (cleared first). `read_to_end` would first ask the file's
/// size and position (statx + lseek), which a /proc file does not know: two wasted system
/// calls per file, four files per process, every tick.
fn read_all(f: &mut File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut len = 0;
    buf.clear();
    loop {
        if len == buf.len() {
            // A stat line is ~300 bytes; command lines grow the buffer, which is then reused.
            buf.resize((buf.len() * 2).max(4096), 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
    buf.truncate(len);
    Ok(len)
}

/// The two fields of /proc/PID/io glint reports.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Io {
    read_bytes: u64,
    write_bytes: u64,
}

/// /proc/PID/io; `None` when it does not parse (a kernel without task I/O accounting writes a
/// shorter file). Parsed by hand: procfs builds a map of every line for each process, ten
/// allocations where two numbers are needed.
fn parse_io(buf: &[u8]) -> Option<Io> {
    let text = std::str::from_utf8(buf).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(Io {
        read_bytes: field("read_bytes")?,
        write_bytes: field("write_bytes")?,
    })
}

/// Arguments of /proc/PID/cmdline, as psutil splits them: NUL-separated, except for processes
/// that rewrote their title into one space-separated string (nginx, postgres workers).
fn split_cmdline(data: &[u8]) -> Vec<String> {
    if data.is_empty() {
        return Vec::new(); // kernel threads and zombies
    }
    let sep = if data.ends_with(b"\0") { b'\0' } else { b' ' };
    let data = data.strip_suffix(&[sep]).unwrap_or(data);
    let mut args: Vec<&[u8]> = data.split(|&b| b == sep).collect();
    if sep == b'\0' && args.len() == 1 && data.contains(&b' ') {
        args = data.split(|&b| b == b' ').collect();
    }
    args.into_iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
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

    #[test]
    fn cmdline_splitting_follows_psutil() {
        assert_eq!(split_cmdline(b"sleep\x00100\x00"), ["sleep", "100"]);
        assert_eq!(split_cmdline(b"a b\0c\0"), ["a b", "c"]);
        assert_eq!(
            split_cmdline(b"nginx: worker process\0"),
            ["nginx:", "worker", "process"]
        );
        assert_eq!(split_cmdline(b"postgres: writer"), ["postgres:", "writer"]);
        assert_eq!(split_cmdline(b""), Vec::<String>::new());
        assert_eq!(split_cmdline(b"x\0\0"), ["x", ""]);
    }

    #[test]
    fn stat_lines_procfs_would_panic_on_are_refused() {
        assert!(stat_is_sliceable("1 (init) S 0"));
        assert!(stat_is_sliceable("7 (a) b) (c) R 1"));
        assert!(!stat_is_sliceable("(init) S 0"));
        assert!(!stat_is_sliceable("1 )init( S 0"));
        assert!(!stat_is_sliceable("1 (init)"));
        assert!(!stat_is_sliceable("1 (init)é"));
        assert!(!stat_is_sliceable("é(x) S"));
        assert!(!stat_is_sliceable("1 x S"));
    }

    #[test]
    fn io_of_an_odd_kernel_is_none() {
        assert_eq!(parse_io(b"rchar: 1\n").map(|io| io.read_bytes), None);
        assert_eq!(
            parse_io("rcharé: 1\n".as_bytes()).map(|io| io.read_bytes),
            None
        );
        let full = b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\n\
                     cancelled_write_bytes: 7\n";
        let io = parse_io(full).expect("io");
        assert_eq!((io.read_bytes, io.write_bytes), (5, 6));
    }

    #[test]
    fn garbled_stat_names_the_file_and_a_vanished_one_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid = dir.path().join("proc/42");
        std::fs::create_dir_all(&pid).expect("mkdir");
        for f in ["statm", "cmdline"] {
            std::fs::write(pid.join(f), "0 0 0 0 0 0 0\n").expect("write");
        }
        std::fs::write(pid.join("stat"), "").expect("write");
        let src = Source::fixture(dir.path());
        assert!(processes(&src).expect("vanished skipped").is_empty());

        std::fs::write(pid.join("stat"), "42 x").expect("write");
        let err = processes(&src).expect_err("garbage accepted").to_string();
        assert!(err.contains("proc/42/stat"), "{err}");
    }

    #[test]
    fn kernel_threads_are_read_from_stat_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        // kthreadd's real stat line: flags 2129984 has PF_KTHREAD. No statm, no cmdline.
        let kthread = dir.path().join("proc/2");
        std::fs::create_dir_all(&kthread).expect("mkdir");
        std::fs::write(
            kthread.join("stat"),
            "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 3 5 0 0 20 0 1 0 14 0 0 \
             18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n",
        )
        .expect("write");
        // A user process without statm has vanished mid-scan: skipped, as before.
        let user = dir.path().join("proc/7");
        std::fs::create_dir_all(&user).expect("mkdir");
        std::fs::write(
            user.join("stat"),
            "7 (sh) S 1 7 7 0 -1 4194560 0 0 0 0 3 5 0 0 20 0 1 0 14 0 0 \
             18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n",
        )
        .expect("write");
        let src = Source::fixture(dir.path());
        let found = processes(&src).expect("scan");
        assert_eq!(found.len(), 1, "{found:?}");
        let k = &found[0];
        assert_eq!((k.pid, k.name.as_str()), (2, "kthreadd"));
        assert_eq!((k.memory_rss, k.memory_vms), (0, 0));
        assert!(k.cmdline.is_empty());
    }
}
