//! `processes`: every process of /proc (stat, statm, io, cmdline and the owner of its
//! directory). The `Process` record and what a scan keeps for the next are in `process_state`,
//! the parsers of /proc/PID files in `pid_files`.
//!
//! This is the hot path: a busy machine has 1,000+ processes and the scan runs every tick. Each
//! process costs two or three small reads (stat, statm, io) into buffers reused across the scan;
//! its command line and owner are read when it is first seen and then as Glances does, at most
//! every [`IDENTITY_MAX_AGE`].

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use procfs::FromRead;
use procfs::process::{Stat, StatM};

use crate::cpu_stats::boot_time;
use crate::error::CollectError;
use crate::files::read_optional;
use crate::pid_files::{Io, is_counted, parse_io, read_all, split_cmdline, stat_is_sliceable};
use crate::process_state::{Identity, Listing, ProcFiles, Process, Quiet};
use crate::source::Source;

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

/// How long a quiet kernel thread's reading stands: the one thing that changes in a thread
/// that does not run is its nice value (a `renice`), seen within this long, and at once when
/// it next runs. Reading every kernel thread whole every 10 s would cost an idle scan as much
/// again as the threads that do run.
const QUIET_MAX_AGE: Duration = Duration::from_secs(60);

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
    let text = read_optional(&src.proc_path("loadavg")).ok()??;
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
    let shared = Shared {
        src,
        boot_time,
        users: &users,
        known: &known,
        now,
    };
    let found = scan_all(shared, &pids, &mut files)?;
    Ok(remember(src, found, pids, files, listed))
}

/// Reads every process of `pids` with its kept `files` (aligned with `pids`), in pid order.
///
/// The kernel takes ~40 µs per process to produce its four files on a small VM: on the tick's
/// critical path. Scan in parallel across cores, in chunks big enough that a thread is worth
/// starting.
fn scan_all(
    shared: Shared<'_>,
    pids: &[u32],
    files: &mut [ProcFiles],
) -> Result<Vec<(Process, Identity)>, CollectError> {
    let workers = cores().min(pids.len().div_ceil(PIDS_PER_WORKER).max(1));
    let chunk = pids.len().div_ceil(workers).max(1);
    if workers <= 1 {
        return shared.scan_chunk(pids, files, 0);
    }
    let parts: Vec<Result<Vec<(Process, Identity)>, CollectError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pids
            .chunks(chunk)
            .zip(files.chunks_mut(chunk))
            .enumerate()
            .map(|(n, (part, files))| {
                scope.spawn(move || shared.scan_chunk(part, files, n * chunk))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CollectError::Parse {
                        path: shared.src.proc_root.clone(),
                        what: "a process scan thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut found = Vec::with_capacity(pids.len());
    for part in parts {
        found.extend(part?);
    }
    Ok(found)
}

/// Keeps what this scan found for the next one (the identities, the files of `pids` still
/// open, the listing) and returns its processes by ascending pid.
fn remember(
    src: &Source,
    found: Vec<(Process, Identity)>,
    pids: Vec<u32>,
    files: Vec<ProcFiles>,
    listed: Option<Listed>,
) -> Vec<Process> {
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
    out
}

/// What every scanning thread starts from: the same for all the processes of one scan.
#[derive(Clone, Copy)]
struct Shared<'a> {
    src: &'a Source,
    boot_time: f64,
    users: &'a Arc<HashMap<u32, String>>,
    /// The identities of the previous scan.
    known: &'a HashMap<u32, Identity>,
    now: Instant,
}

impl Shared<'_> {
    /// Reads `pids`, the `first`th of the scan's pids onwards, with their kept `files`.
    fn scan_chunk(
        self,
        pids: &[u32],
        files: &mut [ProcFiles],
        first: usize,
    ) -> Result<Vec<(Process, Identity)>, CollectError> {
        let src = self.src;
        let mut scan = Scan {
            src,
            boot_time: self.boot_time,
            users: self.users.clone(),
            known: self.known,
            now: self.now,
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
    }
}

/// What a known kernel thread's schedstat says, read before anything else of it.
enum Schedstat<'k> {
    /// It has not run since its last full reading, which stands.
    Stands(&'k Arc<Quiet>, &'k Identity),
    /// Read it whole, and keep this line with the reading (`None`: unreadable, or a kernel
    /// without scheduler statistics).
    ReadWhole(Option<Vec<u8>>),
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
        let previous = self.known.get(&pid);
        let known = previous.filter(|id| self.is_fresh(id));
        // A kernel thread seen before: its schedstat first, then whatever it says.
        let mut schedstat = None;
        if previous.is_some_and(|id| id.kernel_thread) {
            match self.schedstat(known, files) {
                Schedstat::Stands(quiet, id) => {
                    return Ok(Some((quiet.process.clone(), id.clone())));
                }
                Schedstat::ReadWhole(line) => schedstat = line,
            }
        }
        if !self.read_kept("stat", &mut files.stat) {
            return Ok(None);
        }
        let Some(stat) = self.parse_stat()? else {
            return Ok(None);
        };
        let kernel_thread = stat.flags & PF_KTHREAD != 0;
        let Some(statm) = self.statm(kernel_thread, files)? else {
            return Ok(None);
        };
        let known = known.filter(|id| id.starttime == stat.starttime && id.comm == stat.comm);
        let mut identity = match known {
            Some(id) => id.clone(),
            None => match self.identify(pid, &stat, kernel_thread) {
                Some(identity) => identity,
                None => return Ok(None),
            },
        };
        // Unreadable for other users' processes (and for some of our own under a ptrace
        // policy): that is the `none` of the record, not an error.
        let io = if self.read_kept("io", &mut files.io) {
            parse_io(&self.buf)
        } else {
            None
        };
        let process = self.record(pid, stat, &statm, &identity, io);
        identity.quiet = schedstat.map(|schedstat| {
            Arc::new(Quiet {
                schedstat,
                process: process.clone(),
                read_at: self.now,
            })
        });
        Ok(Some((process, identity)))
    }

    /// A kernel thread seen before (`known` if its identity is still fresh): its last reading
    /// stands while its schedstat line has not moved.
    fn schedstat<'k>(
        &mut self,
        known: Option<&'k Identity>,
        files: &mut ProcFiles,
    ) -> Schedstat<'k> {
        // Only through a file kept open since the last scan: that one belongs to the same
        // thread (it fails once the thread exits), whatever now has its pid.
        let same_thread = files.schedstat.is_some();
        if !(self.read_kept("schedstat", &mut files.schedstat) && is_counted(&self.buf)) {
            return Schedstat::ReadWhole(None);
        }
        if same_thread
            && let Some(id) = known
            && let Some(quiet) = id.quiet.as_ref().filter(|q| {
                q.schedstat == self.buf
                    && self.now.saturating_duration_since(q.read_at) < QUIET_MAX_AGE
            })
        {
            return Schedstat::Stands(quiet, id);
        }
        Schedstat::ReadWhole(Some(self.buf.clone()))
    }

    /// /proc/PID/statm; `None` when it cannot be read (the process exited).
    ///
    /// A kernel thread has no memory map and no command line: its statm is all zeros and its
    /// cmdline empty. A third of a small machine's processes are kernel threads; not asking the
    /// kernel for those two files saves a sixth of the scan.
    fn statm(
        &mut self,
        kernel_thread: bool,
        files: &mut ProcFiles,
    ) -> Result<Option<StatM>, CollectError> {
        if kernel_thread {
            return Ok(Some(StatM {
                size: 0,
                resident: 0,
                shared: 0,
                text: 0,
                lib: 0,
                data: 0,
                dt: 0,
            }));
        }
        if !self.read_kept("statm", &mut files.statm) {
            return Ok(None);
        }
        StatM::from_read(&self.buf[..])
            .map(Some)
            .map_err(|e| CollectError::procfs(&self.path.join("statm"), e))
    }

    /// Who process `pid` is, read now: its command line (none for a kernel thread, see
    /// [`Scan::statm`]) and the owner of its directory; `None` when either cannot be read.
    fn identify(&mut self, pid: u32, stat: &Stat, kernel_thread: bool) -> Option<Identity> {
        let cmdline = if kernel_thread {
            Vec::new()
        } else {
            if !self.read("cmdline") {
                return None;
            }
            split_cmdline(&self.buf)
        };
        let (uid, gid) = self.src.syscalls.owner(pid, &self.path).ok()?;
        Some(Identity {
            starttime: stat.starttime,
            comm: stat.comm.clone(),
            cmdline: cmdline.into(),
            uid,
            gid,
            read_at: self.now,
            kernel_thread,
            quiet: None,
        })
    }

    /// The record of process `pid` from what was read of it.
    fn record(
        &self,
        pid: u32,
        stat: Stat,
        statm: &StatM,
        identity: &Identity,
        io: Option<Io>,
    ) -> Process {
        let src = self.src;
        let secs = |ticks: u64| src.ticks_to_secs(ticks);
        let signed_secs = |ticks: i64| secs(u64::try_from(ticks).unwrap_or(0));
        let bytes = |pages: u64| pages.saturating_mul(src.page_size);
        Process {
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
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
