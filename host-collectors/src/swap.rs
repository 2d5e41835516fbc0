//! `Swap`: swap space from /proc/meminfo and swap traffic from /proc/vmstat.

use std::path::Path;

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
        Some(text) => (
            vmstat_pages(&text, "pswpin", &path)?,
            vmstat_pages(&text, "pswpout", &path)?,
        ),
    };
    Ok(Swap {
        total,
        used: total.saturating_sub(free),
        free,
        sin: pages_in.saturating_mul(src.page_size),
        sout: pages_out.saturating_mul(src.page_size),
    })
}

/// The counter `key` of /proc/vmstat (`NAME VALUE` lines); 0 when the kernel lacks it. Two of
/// its ~180 lines are needed: a scan, not a map of them all.
fn vmstat_pages(text: &str, key: &str, path: &Path) -> Result<u64, CollectError> {
    let Some(value) = text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then_some(value.trim())
    }) else {
        return Ok(0);
    };
    // Counters are never negative; a negative one would be corrupt, read it as 0.
    match value.parse::<i64>() {
        Ok(n) => Ok(u64::try_from(n).unwrap_or(0)),
        Err(_) => Err(CollectError::parse(
            path,
            format!("{key} is not a number: {value:?}"),
        )),
    }
}
