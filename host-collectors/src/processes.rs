//! `Process` and `ProcessTotals`: every process of /proc (stat, statm, io, cmdline and the owner
//! of its directory) and the PID limit.
//!
//! This is the hot path: a busy machine has 1,000+ processes and the scan runs every tick. Each
//! process costs two or three small reads (stat, statm, io) into buffers reused across the scan;
//! its command line and owner are read when it is first seen and then as Glances does, at most
//! every [`IDENTITY_MAX_AGE`].

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// Processes per scanning thread: a thread start (clone, stack map, wake-up) costs about as
/// much as reading five processes, and 100 processes take about a millisecond, so a small
/// machine scans on the caller's thread and a busy one on every core.
const PIDS_PER_WORKER: usize = 100;

/// How long a process's command line and owner are reused before they are read again. Glances
/// caches the same two (`cmdline`, `username`) for its `cache_timeout`; they change only on
/// `exec` (which also changes the name in stat: read again at once), `setuid` or a retitle, and
/// reading them is a third of the scan.
pub const IDENTITY_MAX_AGE: Duration = Duration::from_secs(10);

/// What is kept of a process between scans: who it is, read less often than what it does.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// With the pid, tells a process from a later one that reuses its pid.
    starttime: u64,
    /// The name in stat: an `exec` changes it, and then the command line is read again.
    comm: String,
    cmdline: Arc<[String]>,
    uid: u32,
    gid: u32,
    read_at: Instant,
    kernel_thread: bool,
    /// A kernel thread's last full reading (see [`Quiet`]).
    quiet: Option<Arc<Quiet>>,
}

/// A kernel thread as the last full read found it, with its /proc/PID/schedstat line read
/// just before. A kernel thread is one task with no memory of its own: while that line (its
/// run time and the number of times it was switched in) stays the same, it has not run, so
/// its CPU times, I/O, state and CPU are those of the reading. Most kernel threads sleep
/// through a tick (53 of 61 over 2 s on a small VM), and schedstat is three numbers where stat
/// and io are two files of formatted fields: this saves about a third of an idle scan.
#[derive(Debug)]
struct Quiet {
    schedstat: Vec<u8>,
    process: Process,
    read_at: Instant,
}

/// How long a quiet kernel thread's reading stands: the one thing that changes in a thread
/// that does not run is its nice value (a `renice`), seen within this long, and at once when
/// it next runs. Reading every kernel thread whole every 10 s would cost an idle scan as much
/// again as the threads that do run.
const QUIET_MAX_AGE: Duration = Duration::from_secs(60);

/// pid → identity, as of the last scan (processes that exited are dropped).
pub(crate) type Identities = Mutex<Arc<HashMap<u32, Identity>>>;

/// The /proc/PID files read every tick, kept open between scans: reading one again from
/// offset 0 makes the kernel write it afresh, so a scan costs one system call per file
/// instead of three (open, read, close) and no path lookup. A file kept for a process that
/// has exited fails (ESRCH), and is then opened again by path: a new process on the same pid
/// is read, never the old one.
#[derive(Debug, Default)]
pub(crate) struct ProcFiles {
    stat: Option<File>,
    statm: Option<File>,
    io: Option<File>,
    /// Kernel threads only (see [`Quiet`]).
    schedstat: Option<File>,
}

/// pid → its open files, as of the last scan.
pub(crate) type OpenFiles = Mutex<HashMap<u32, ProcFiles>>;

/// Processes whose files are kept open: three descriptors each (a kernel thread's schedstat
/// stands for the statm it has not), so 300 hold 900 of the 1,024 most systems allow by
/// default and leave room for the server's sockets; processes past that are read by path each
/// tick, as before.
const KEPT_PROCESSES: usize = 300;

/// The cores the scan may spread over, asked once: `available_parallelism` reads the cgroup's
/// CPU quota (three files and a `statx`) each time it is called.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The pids a scan found, and when /proc was last listed for them.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The last pid the kernel handed out (/proc/loadavg) before /proc was listed.
    newest: String,
    pids: Vec<u32>,
    listed_at: Instant,
}

pub(crate) type Listings = Mutex<Option<Listing>>;

/// A [`Listing`] before its pids are known: the last pid handed out, and when /proc was listed.
type Listed = (String, Instant);

/// The pids to read: those of the last scan while the kernel has handed out no pid since (a
/// fork or a new thread takes one), else a new listing of /proc. Listing /proc makes the
/// kernel look up every process and build its directory entry (a tenth of an idle scan); a
/// process that exited is found out by its failed read, and /proc is listed at least every
/// [`IDENTITY_MAX_AGE`] whatever the last pid says (it could, in theory, wrap right round).
/// Also the last pid handed out and when /proc was listed, to keep with this scan's pids.
fn pids(src: &Source, now: Instant) -> Result<(Vec<u32>, Option<Listed>), CollectError> {
    let newest = newest_pid(src);
    if let Some(newest) = &newest
        && let Some(last) = src
            .listing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|l| {
                l.newest == *newest && now.saturating_duration_since(l.listed_at) < IDENTITY_MAX_AGE
            })
    {
        return Ok((last.pids.clone(), Some((newest.clone(), last.listed_at))));
    }
    let entries = match std::fs::read_dir(&src.proc_root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
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
    Ok((pids, newest.map(|newest| (newest, now))))
}

/// The last pid handed out, from /proc/loadavg; `None` when it cannot tell about the pids
/// `proc_root` lists: loadavg speaks of the reader's pid namespace, which a /proc mounted
/// from another one does not show.
fn newest_pid(src: &Source) -> Option<String> {
    let own = *src.own_pid_namespace.get_or_init(|| {
        std::fs::read_link(src.proc_root.join("self"))
            .ok()
            .and_then(|p| p.to_str()?.parse::<u32>().ok())
            == Some(std::process::id())
    });
    if !own {
        return None;
    }
    let text = crate::source::read_optional(&src.proc_path("loadavg")).ok()??;
    text.split_whitespace().nth(4).map(str::to_string)
}

/// Every process, by ascending pid. One that exits during the scan is left out.
pub fn processes(src: &Source) -> Result<Vec<Process>, CollectError> {
    let now = Instant::now();
    let (pids, listed) = pids(src, now)?;
    let boot_time = boot_time(src)? as f64;
    let users = src.users.names(&src.etc_path("passwd"))?;
    // The last scan's identities, read-only for the workers; each returns the ones it saw.
    let known = src
        .identities
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut open = std::mem::take(
        &mut *src
            .open_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    // Aligned with `pids`; what is left in `open` belongs to processes gone since (closed here).
    let mut files: Vec<ProcFiles> = pids
        .iter()
        .map(|pid| open.remove(pid).unwrap_or_default())
        .collect();
    drop(open);
    // The kernel takes ~40 µs per process to produce its four files on a small VM: on the
    // tick's critical path. Scan in parallel across cores, in chunks big enough that a
    // thread is worth starting.
    let workers = cores().min(pids.len().div_ceil(PIDS_PER_WORKER).max(1));
    let chunk = pids.len().div_ceil(workers).max(1);
    let scan_chunk = |pids: &[u32],
                      files: &mut [ProcFiles],
                      first: usize|
     -> Result<Vec<(Process, Identity)>, CollectError> {
        let mut scan = Scan {
            src,
            boot_time,
            users: users.clone(),
            known: &known,
            now,
            path: PathBuf::new(),
            // A stat line is ~300 bytes, a long command line a few KB: one page-ish buffer
            // rarely grows.
            buf: Vec::with_capacity(4096),
            keep: false,
        };
        let mut out = Vec::with_capacity(pids.len());
        for (i, (&pid, files)) in pids.iter().zip(files.iter_mut()).enumerate() {
            scan.path.clear();
            scan.path.push(&src.proc_root);
            scan.path.push(pid.to_string());
            scan.keep = first + i < KEPT_PROCESSES;
            if !scan.keep {
                // Past the cap now (lower pids came): read by path, hold nothing.
                *files = ProcFiles::default();
            }
            match scan.process(pid, files)? {
                Some(process) => out.push(process),
                None => *files = ProcFiles::default(),
            }
        }
        Ok(out)
    };
    let mut found = Vec::with_capacity(pids.len());
    if workers <= 1 {
        found = scan_chunk(&pids, &mut files, 0)?;
    } else {
        let parts: Vec<Result<Vec<(Process, Identity)>, CollectError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = pids
                    .chunks(chunk)
                    .zip(files.chunks_mut(chunk))
                    .enumerate()
                    .map(|(n, (part, files))| {
                        scope.spawn(move || scan_chunk(part, files, n * chunk))
                    })
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
            found.extend(part?);
        }
    }
    let mut identities = HashMap::with_capacity(found.len());
    let mut out = Vec::with_capacity(found.len());
    for (process, identity) in found {
        identities.insert(process.pid, identity);
        out.push(process);
    }
    *src.identities
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Arc::new(identities);
    let kept: HashMap<u32, ProcFiles> = pids
        .into_iter()
        .zip(files)
        .filter(|(_, f)| f.stat.is_some())
        .collect();
    *src.open_files
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = kept;
    // /proc lists in pid order already; a fixture directory does not.
    out.sort_unstable_by_key(|p| p.pid);
    *src.listing.lock().unwrap_or_else(PoisonError::into_inner) =
        listed.map(|(newest, listed_at)| Listing {
            newest,
            pids: out.iter().map(|p| p.pid).collect(),
            listed_at,
        });
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
    users: Arc<HashMap<u32, String>>,
    /// The identities of the previous scan, and this scan's time to age them.
    known: &'a HashMap<u32, Identity>,
    now: Instant,
    /// `/proc/PID`, then `/proc/PID/FILE` while a file is read.
    path: PathBuf,
    buf: Vec<u8>,
    /// Whether this process's files are kept open for the next scan.
    keep: bool,
}

impl Scan<'_> {
    /// Reads `self.path/file` into `self.buf`; `false` when it cannot be read.
    fn read(&mut self, file: &str) -> bool {
        self.read_kept(file, &mut None)
    }

    /// [`Scan::read`] through `kept`, the file left open by the last scan if any; the file is
    /// kept open in it for the next scan when `self.keep`.
    fn read_kept(&mut self, file: &str, kept: &mut Option<File>) -> bool {
        if let Some(f) = kept.as_ref() {
            if read_all(f, &mut self.buf).is_ok_and(|n| n > 0) {
                return true;
            }
            // The process it was opened for has exited (ESRCH): try the path, in case a new
            // process has the pid.
            *kept = None;
        }
        self.path.push(file);
        let opened = File::open(&self.path);
        self.path.pop();
        let Ok(f) = opened else {
            self.buf.clear();
            return false;
        };
        if read_all(&f, &mut self.buf).is_err() {
            return false;
        }
        if self.keep {
            *kept = Some(f);
        }
        true
    }

    /// The process whose directory is `self.path`, with its identity for the next scan; `None`
    /// if it vanished or cannot be seen.
    ///
    /// Any failed read of stat, statm or cmdline, or of the directory's owner, means the process
    /// exited mid-scan (ENOENT, ESRCH, an empty read) or is hidden from us (`hidepid`): skip it.
    fn process(
        &mut self,
        pid: u32,
        files: &mut ProcFiles,
    ) -> Result<Option<(Process, Identity)>, CollectError> {
        let src = self.src;
        let previous = self.known.get(&pid);
        let known = previous.filter(|id| self.is_fresh(id));
        // A kernel thread seen before: its schedstat first, then whatever it says.
        let mut schedstat = None;
        if previous.is_some_and(|id| id.kernel_thread) {
            // Only through a file kept open since the last scan: that one belongs to the same
            // thread (it fails once the thread exits), whatever now has its pid.
            let same_thread = files.schedstat.is_some();
            if self.read_kept("schedstat", &mut files.schedstat) && is_counted(&self.buf) {
                if same_thread
                    && let Some(id) = known
                    && let Some(quiet) = id.quiet.as_ref().filter(|q| {
                        q.schedstat == self.buf
                            && self.now.saturating_duration_since(q.read_at) < QUIET_MAX_AGE
                    })
                {
                    return Ok(Some((quiet.process.clone(), id.clone())));
                }
                schedstat = Some(self.buf.clone());
            }
        }
        if !self.read_kept("stat", &mut files.stat) {
            return Ok(None);
        }
        let Some(stat) = self.parse_stat()? else {
            return Ok(None);
        };
        // A kernel thread has no memory map and no command line: its statm is all zeros and
        // its cmdline empty. A third of a small machine's processes are kernel threads; not
        // asking the kernel for those two files saves a sixth of the scan.
        let kernel_thread = stat.flags & PF_KTHREAD != 0;
        let statm = if kernel_thread {
            StatM {
                size: 0,
                resident: 0,
                shared: 0,
                text: 0,
                lib: 0,
                data: 0,
                dt: 0,
            }
        } else {
            if !self.read_kept("statm", &mut files.statm) {
                return Ok(None);
            }
            StatM::from_read(&self.buf[..])
                .map_err(|e| CollectError::procfs(&self.path.join("statm"), e))?
        };
        let known = known.filter(|id| id.starttime == stat.starttime && id.comm == stat.comm);
        let mut identity = match known {
            Some(id) => id.clone(),
            None => {
                let cmdline = if kernel_thread {
                    Vec::new()
                } else {
                    if !self.read("cmdline") {
                        return Ok(None);
                    }
                    split_cmdline(&self.buf)
                };
                let Ok((uid, gid)) = src.syscalls.owner(pid, &self.path) else {
                    return Ok(None);
                };
                Identity {
                    starttime: stat.starttime,
                    comm: stat.comm.clone(),
                    cmdline: cmdline.into(),
                    uid,
                    gid,
                    read_at: self.now,
                    kernel_thread,
                    quiet: None,
                }
            }
        };
        // Unreadable for other users' processes (and for some of our own under a ptrace
        // policy): that is the `none` of the record, not an error.
        let io = if self.read_kept("io", &mut files.io) {
            parse_io(&self.buf)
        } else {
            None
        };

        let secs = |ticks: u64| src.ticks_to_secs(ticks);
        let signed_secs = |ticks: i64| secs(u64::try_from(ticks).unwrap_or(0));
        let bytes = |pages: u64| pages.saturating_mul(src.page_size);
        let process = Process {
            pid,
            ppid: u32::try_from(stat.ppid).unwrap_or(0),
            cmdline: identity.cmdline.to_vec(),
            username: self
                .users
                .get(&identity.uid)
                .cloned()
                .unwrap_or_else(|| identity.uid.to_string()),
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
            uid: identity.uid,
            gid: identity.gid,
            cpu_num: stat
                .processor
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            name: stat.comm,
        };
        identity.quiet = schedstat.map(|schedstat| {
            Arc::new(Quiet {
                schedstat,
                process: process.clone(),
                read_at: self.now,
            })
        });
        Ok(Some((process, identity)))
    }

    /// Whether who a process is may still be taken from the last scans: read within
    /// [`IDENTITY_MAX_AGE`], or a kernel thread's (no command line, owned by root, for life).
    fn is_fresh(&self, id: &Identity) -> bool {
        id.kernel_thread || self.now.saturating_duration_since(id.read_at) < IDENTITY_MAX_AGE
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

/// Reads a whole file from its start into `buf` (cleared first), with `pread` at offset 0: a
/// /proc file read again that way is made afresh. `read_to_end` would first ask the file's
/// size and position (statx + lseek), which a /proc file does not know.
///
/// A read that leaves room in the buffer is the end: /proc/PID files (one record made whole
/// per read, or the command line copied until it ends) and fixture files alike hand over all
/// they have, so the read that would return 0 is not made (a system call per file saved).
fn read_all(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut len = 0;
    buf.clear();
    loop {
        if len == buf.len() {
            // A stat line is ~300 bytes; command lines grow the buffer, which is then reused.
            buf.resize((buf.len() * 2).max(4096), 0);
        }
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if len < buf.len() {
                    break;
                }
            }
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

/// Whether a /proc/PID/schedstat line counts anything: a kernel without scheduler statistics
/// writes `0 0 0` for every task, which would make them all look quiet. (A thread that never
/// used a whole nanosecond of CPU but was switched in reads `0 0 2`: counted.)
fn is_counted(schedstat: &[u8]) -> bool {
    schedstat.iter().any(|b| b.is_ascii_digit() && *b != b'0')
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
    fn command_lines_are_read_again_after_an_exec_or_a_new_process_on_the_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid = dir.path().join("proc/7");
        std::fs::create_dir_all(&pid).expect("mkdir");
        let stat = |comm: &str, starttime: u32| {
            format!(
                "7 ({comm}) S 1 7 7 0 -1 4194560 0 0 0 0 3 5 0 0 20 0 1 0 {starttime} 0 0 \
                 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n"
            )
        };
        std::fs::write(pid.join("stat"), stat("sh", 14)).expect("write");
        std::fs::write(pid.join("statm"), "0 0 0 0 0 0 0\n").expect("write");
        std::fs::write(pid.join("cmdline"), "sh\0-c\0true\0").expect("write");
        let src = Source::fixture(dir.path());
        let cmdline = |src: &Source| processes(src).expect("scan")[0].cmdline.clone();
        assert_eq!(cmdline(&src), ["sh", "-c", "true"]);
        // A retitle within IDENTITY_MAX_AGE is seen later, as in Glances.
        std::fs::write(pid.join("cmdline"), "sh\0retitled\0").expect("write");
        assert_eq!(cmdline(&src), ["sh", "-c", "true"]);
        // An exec changes the name: read at once.
        std::fs::write(pid.join("stat"), stat("sleep", 14)).expect("write");
        std::fs::write(pid.join("cmdline"), "sleep\x00100\x00").expect("write");
        assert_eq!(cmdline(&src), ["sleep", "100"]);
        // Another process on the same pid (another start time), same name: read at once.
        std::fs::write(pid.join("stat"), stat("sleep", 99)).expect("write");
        std::fs::write(pid.join("cmdline"), "sleep\x005\x00").expect("write");
        assert_eq!(cmdline(&src), ["sleep", "5"]);
        // A process that exited is forgotten.
        std::fs::remove_dir_all(&pid).expect("rm");
        assert!(processes(&src).expect("scan").is_empty());
        assert!(src.identities.lock().expect("lock").is_empty());
    }

    #[test]
    fn files_kept_open_between_scans_read_fresh_and_close_when_the_process_exits() {
        let src = Source::live();
        // A process that changes its name (an exec) a moment after the first scan.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.5; exec sleep 100"])
            .spawn()
            .expect("spawn sh");
        let pid = child.id();
        let find = |src: &Source| {
            processes(src)
                .expect("scan")
                .into_iter()
                .find(|p| p.pid == pid)
        };
        // This source's own record (other tests scan the same processes with theirs).
        let kept = |src: &Source| {
            src.open_files
                .lock()
                .expect("lock")
                .get(&pid)
                .map(|f| (f.stat.is_some(), f.statm.is_some(), f.io.is_some()))
        };
        // The descriptor of the kept stat file: the same one is read at the next scan.
        let stat_fd = |src: &Source| {
            use std::os::fd::AsRawFd;
            src.open_files
                .lock()
                .expect("lock")
                .get(&pid)
                .and_then(|f| f.stat.as_ref().map(|f| f.as_raw_fd()))
        };
        assert_eq!(find(&src).map(|p| p.name), Some("sh".to_string()));
        assert_eq!(kept(&src), Some((true, true, true)));
        let first_fd = stat_fd(&src);
        std::thread::sleep(Duration::from_millis(900));
        // Read again through the files kept open: the kernel wrote them afresh.
        let after_exec = find(&src).expect("still running");
        assert_eq!(after_exec.name, "sleep");
        assert_eq!(after_exec.cmdline, ["sleep", "100"]);
        assert_eq!(kept(&src), Some((true, true, true)));
        assert_eq!(stat_fd(&src), first_fd, "the kept file was opened again");

        let _ = child.kill();
        let _ = child.wait();
        assert!(find(&src).is_none(), "an exited process was reported");
        assert_eq!(kept(&src), None, "its kept files were not closed");
    }

    #[test]
    fn a_kernel_thread_that_has_not_run_is_not_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kthread = dir.path().join("proc/2");
        std::fs::create_dir_all(&kthread).expect("mkdir");
        // kthreadd's stat line (flags 2129984 has PF_KTHREAD) with `utime` ticks of CPU.
        let stat = |utime: u32| {
            format!(
                "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 {utime} 5 0 0 20 0 1 0 14 0 0 \
                 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n"
            )
        };
        let write = |file: &str, text: &str| {
            std::fs::write(kthread.join(file), text).expect("write");
        };
        write("stat", &stat(100));
        write("schedstat", "1000 20 3\n");
        let src = Source::fixture(dir.path());
        let user_secs = |src: &Source| processes(src).expect("scan")[0].cpu_user;
        let ticks = src.ticks_per_second as f64;
        // First seen: read whole. Then known as a kernel thread: its schedstat is read first
        // and kept open, and the thread read whole again.
        assert_eq!(user_secs(&src), 100.0 / ticks);
        write("stat", &stat(200));
        assert_eq!(user_secs(&src), 200.0 / ticks);
        // Its schedstat has not moved: it has not run, its last reading stands (this stat,
        // changed behind the kernel's back, is not read).
        write("stat", &stat(300));
        assert_eq!(user_secs(&src), 200.0 / ticks);
        // It ran: read whole.
        write("schedstat", "2000 20 4\n");
        assert_eq!(user_secs(&src), 300.0 / ticks);
        // One that never used a whole nanosecond is counted all the same.
        write("schedstat", "0 0 2\n");
        write("stat", &stat(310));
        assert_eq!(user_secs(&src), 310.0 / ticks);
        write("stat", &stat(320));
        assert_eq!(user_secs(&src), 310.0 / ticks);
        // A kernel without scheduler statistics writes zeros: always read whole.
        write("schedstat", "0 0 0\n");
        write("stat", &stat(400));
        assert_eq!(user_secs(&src), 400.0 / ticks);
        write("stat", &stat(500));
        assert_eq!(user_secs(&src), 500.0 / ticks);
    }

    #[test]
    fn proc_is_listed_again_once_a_pid_was_handed_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let proc = dir.path().join("proc");
        let add = |pid: u32| {
            let at = proc.join(pid.to_string());
            std::fs::create_dir_all(&at).expect("mkdir");
            std::fs::write(
                at.join("stat"),
                format!(
                    "{pid} (sh) S 1 7 7 0 -1 4194560 0 0 0 0 3 5 0 0 20 0 1 0 14 0 0 \
                     18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0\n"
                ),
            )
            .expect("write");
            std::fs::write(at.join("statm"), "0 0 0 0 0 0 0\n").expect("write");
            std::fs::write(at.join("cmdline"), "sh\0").expect("write");
        };
        let newest = |pid: u32| {
            std::fs::write(proc.join("loadavg"), format!("0.00 0.01 0.05 1/70 {pid}\n"))
                .expect("write");
        };
        add(7);
        newest(7);
        // This /proc is this process's pid namespace, as the live one is.
        std::os::unix::fs::symlink(std::process::id().to_string(), proc.join("self"))
            .expect("symlink");
        let src = Source::fixture(dir.path());
        let pids = |src: &Source| -> Vec<u32> {
            processes(src)
                .expect("scan")
                .iter()
                .map(|p| p.pid)
                .collect()
        };
        assert_eq!(pids(&src), [7]);
        // No pid handed out since: the last scan's pids are read, /proc is not listed.
        add(9);
        assert_eq!(pids(&src), [7]);
        // One was: listed again.
        newest(9);
        assert_eq!(pids(&src), [7, 9]);
        // (A process that exits is left out by its failed read: the live test below.)

        // A /proc of another pid namespace is listed every time.
        std::fs::remove_file(proc.join("self")).expect("rm");
        std::os::unix::fs::symlink("1", proc.join("self")).expect("symlink");
        let other = Source::fixture(dir.path());
        assert_eq!(pids(&other), [7, 9]);
        add(11);
        assert_eq!(pids(&other), [7, 9, 11]);
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
