//! `DiskIo`: per-device I/O counters from /proc/diskstats.

use procfs::{DiskStats, FromBufRead};
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `disk-io`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskIo {
    pub name: String,
    pub read_count: u64,
    pub write_count: u64,
    pub read_merged: u64,
    pub write_merged: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// Milliseconds spent reading / writing / busy.
    pub read_time: u64,
    pub write_time: u64,
    pub busy_time: u64,
}

/// diskstats counts in 512-byte sectors whatever the device's real sector size
/// (Documentation/admin-guide/iostats.rst).
const SECTOR_BYTES: u64 = 512;

/// Every device and partition, in the kernel's order (plugins decide what to hide).
pub fn disk_io(src: &Source) -> Result<Vec<DiskIo>, CollectError> {
    let path = src.proc_path("diskstats");
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let stats =
        DiskStats::from_buf_read(text.as_bytes()).map_err(|e| CollectError::procfs(&path, e))?;
    Ok(stats
        .0
        .into_iter()
        .map(|d| DiskIo {
            read_count: d.reads,
            write_count: d.writes,
            read_merged: d.merged,
            write_merged: d.writes_merged,
            read_bytes: d.sectors_read.saturating_mul(SECTOR_BYTES),
            write_bytes: d.sectors_written.saturating_mul(SECTOR_BYTES),
            read_time: d.time_reading,
            write_time: d.time_writing,
            busy_time: d.time_in_progress,
            name: d.name,
        })
        .collect())
}
