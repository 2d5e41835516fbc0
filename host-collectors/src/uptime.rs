//! `Uptime`: seconds since boot (/proc/uptime) and the boot time (`btime` of /proc/stat).

use procfs::{FromRead, Uptime as ProcUptime};
use serde::{Deserialize, Serialize};

use crate::cpu_stats::boot_time;
use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `uptime`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    pub seconds: f64,
    /// Seconds since the Unix epoch.
    pub boot_time: u64,
}

pub fn uptime(src: &Source) -> Result<Uptime, CollectError> {
    let path = src.proc_path("uptime");
    let seconds = match read_optional(&path)? {
        None => 0.0,
        Some(text) => {
            ProcUptime::from_read(text.as_bytes())
                .map_err(|e| CollectError::procfs(&path, e))?
                .uptime
        }
    };
    Ok(Uptime {
        seconds,
        boot_time: boot_time(src)?,
    })
}
