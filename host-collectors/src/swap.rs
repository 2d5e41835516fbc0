//! `Swap`: swap space from /proc/meminfo and swap traffic from /proc/vmstat.

use procfs::{FromBufRead, VmStat};
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::memory::read_meminfo;
use crate::source::{Source, read_optional};

/// WIT `swap`, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Swap {
    pub total: u64,
    pub used: u64,
    pub free: u64,
    /// Bytes swapped in / out since boot.
    pub sin: u64,
    pub sout: u64,
}

pub fn swap(src: &Source) -> Result<Swap, CollectError> {
    let (total, free) = match read_meminfo(src)? {
        Some(info) => (info.swap_total, info.swap_free),
        None => (0, 0),
    };
    let path = src.proc_path("vmstat");
    let (pages_in, pages_out) = match read_optional(&path)? {
        None => (0, 0),
        Some(text) => {
            let stat = VmStat::from_buf_read(text.as_bytes())
                .map_err(|e| CollectError::procfs(&path, e))?;
            // Counters are never negative; a negative one would be corrupt, read it as 0.
            let pages =
                |key: &str| u64::try_from(stat.0.get(key).copied().unwrap_or(0)).unwrap_or(0);
            (pages("pswpin"), pages("pswpout"))
        }
    };
    Ok(Swap {
        total,
        used: total.saturating_sub(free),
        free,
        sin: pages_in.saturating_mul(src.page_size),
        sout: pages_out.saturating_mul(src.page_size),
    })
}
