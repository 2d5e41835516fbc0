//! `Process`, the WIT record, and what the process scan keeps of each process between ticks:
//! who it is (`Identity`, with a quiet kernel thread's last reading), its /proc/PID files kept
//! open, and the last listing of pids. `Source` holds these caches, so they are defined here,
//! below it; `processes` fills and reads them.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

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

/// What is kept of a process between scans: who it is, read less often than what it does.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// With the pid, tells a process from a later one that reuses its pid.
    pub(crate) starttime: u64,
    /// The name in stat: an `exec` changes it, and then the command line is read again.
    pub(crate) comm: String,
    pub(crate) cmdline: Arc<[String]>,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) read_at: Instant,
    pub(crate) kernel_thread: bool,
    /// A kernel thread's last full reading (see [`Quiet`]).
    pub(crate) quiet: Option<Arc<Quiet>>,
}

/// A kernel thread as the last full read found it, with its /proc/PID/schedstat line read
/// just before. A kernel thread is one task with no memory of its own: while that line (its
/// run time and the number of times it was switched in) stays the same, it has not run, so
/// its CPU times, I/O, state and CPU are those of the reading. Most kernel threads sleep
/// through a tick (53 of 61 over 2 s on a small VM), and schedstat is three numbers where stat
/// and io are two files of formatted fields: this saves about a third of an idle scan.
#[derive(Debug)]
pub(crate) struct Quiet {
    pub(crate) schedstat: Vec<u8>,
    pub(crate) process: Process,
    pub(crate) read_at: Instant,
}

/// pid → identity, as of the last scan (processes that exited are dropped).
pub(crate) type Identities = Mutex<Arc<HashMap<u32, Identity>>>;

/// The /proc/PID files read every tick, kept open between scans: reading one again from
/// offset 0 makes the kernel write it afresh, so a scan costs one system call per file
/// instead of three (open, read, close) and no path lookup. A file kept for a process that
/// has exited fails (ESRCH), and is then opened again by path: a new process on the same pid
/// is read, never the old one.
#[derive(Debug, Default)]
pub(crate) struct ProcFiles {
    pub(crate) stat: Option<File>,
    pub(crate) statm: Option<File>,
    pub(crate) io: Option<File>,
    /// Kernel threads only (see [`Quiet`]).
    pub(crate) schedstat: Option<File>,
}

/// pid → its open files, as of the last scan.
pub(crate) type OpenFiles = Mutex<HashMap<u32, ProcFiles>>;

/// The pids a scan found, and when /proc was last listed for them.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The last pid the kernel handed out (/proc/loadavg) before /proc was listed.
    pub(crate) newest: String,
    pub(crate) pids: Vec<u32>,
    pub(crate) listed_at: Instant,
}

/// The last scan's listing; `None` before the first scan and for a /proc whose new pids cannot
/// be told (see `processes`).
pub(crate) type Listings = Mutex<Option<Listing>>;
