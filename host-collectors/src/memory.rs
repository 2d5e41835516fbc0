//! `Memory`: physical memory from /proc/meminfo, with psutil's Linux semantics.

use procfs::{FromBufRead, Meminfo};
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `memory`, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub used: u64,
    pub free: u64,
    pub active: u64,
    pub inactive: u64,
    pub buffers: u64,
    pub cached: u64,
    pub shared: u64,
}

pub fn memory(src: &Source) -> Result<Memory, CollectError> {
    let Some(info) = read_meminfo(src)? else {
        return Ok(Memory::default());
    };
    // psutil counts reclaimable slab as cache: the kernel hands it back under pressure.
    let cached = info.cached.saturating_add(info.s_reclaimable.unwrap_or(0));
    let total = info.mem_total;
    let free = info.mem_free;
    let buffers = info.buffers;
    let used = match total.checked_sub(free.saturating_add(cached).saturating_add(buffers)) {
        Some(used) => used,
        // Can happen in containers (LXC) where the numbers do not add up; psutil falls back so.
        None => total.saturating_sub(free),
    };
    Ok(Memory {
        total,
        // Kernels before 3.14 lack MemAvailable: estimate it as free(1) did then.
        available: info
            .mem_available
            .unwrap_or(free.saturating_add(buffers).saturating_add(cached)),
        used,
        free,
        active: info.active,
        inactive: info.inactive,
        buffers,
        cached,
        shared: info.shmem.unwrap_or(0),
    })
}

/// Longest kB value taken from /proc/meminfo: 10^16 kB × 1024 still fits in a u64, and is
/// 10 EB, far past any machine.
pub(crate) const MAX_KB_DIGITS: usize = 16;

/// /proc/meminfo parsed (values in bytes); `None` when absent.
fn read_meminfo(src: &Source) -> Result<Option<Meminfo>, CollectError> {
    let path = src.proc_path("meminfo");
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    // procfs slices field names by byte length; a non-ASCII name would make it panic, and the
    // kernel never writes one.
    if !text.is_ascii() {
        return Err(CollectError::parse(&path, "non-ASCII content"));
    }
    // procfs multiplies kB values by 1024 unchecked; more than 16 digits (10 EB) could overflow.
    if let Some(huge) = text
        .split_ascii_whitespace()
        .find(|w| w.len() > MAX_KB_DIGITS && w.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(CollectError::parse(
            &path,
            format!("value {huge} is too large"),
        ));
    }
    Meminfo::from_buf_read(text.as_bytes())
        .map(Some)
        .map_err(|e| CollectError::procfs(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n\
        SwapCached: 0 kB\nActive: 300 kB\nInactive: 400 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n\
        Dirty: 0 kB\nWriteback: 0 kB\nMapped: 0 kB\nSlab: 0 kB\nCommitted_AS: 0 kB\n\
        VmallocTotal: 0 kB\nVmallocUsed: 0 kB\nVmallocChunk: 0 kB\n";

    fn memory_from(meminfo: &str) -> Result<Memory, CollectError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc")).expect("mkdir");
        std::fs::write(dir.path().join("proc/meminfo"), meminfo).expect("write");
        memory(&Source::fixture(dir.path()))
    }

    #[test]
    fn old_kernel_without_available_shmem_or_sreclaimable() {
        let mem = memory_from(MINIMAL).expect("memory");
        assert_eq!(mem.total, 1000 * 1024);
        assert_eq!(mem.used, (1000 - 100 - 200 - 10) * 1024);
        assert_eq!(mem.available, (100 + 10 + 200) * 1024);
        assert_eq!(mem.shared, 0);
    }

    #[test]
    fn used_never_underflows() {
        let text = MINIMAL.replace("Cached: 200 kB", "Cached: 5000 kB");
        let mem = memory_from(&text).expect("memory");
        assert_eq!(mem.used, 900 * 1024);
    }

    #[test]
    fn absurd_values_are_an_error_not_an_overflow() {
        let text = MINIMAL.replace("MemTotal: 1000 kB", "MemTotal: 99999999999999999 kB");
        let err = memory_from(&text).expect_err("accepted").to_string();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn non_ascii_meminfo_is_an_error_not_a_panic() {
        let err = memory_from("MemTotalé 1 kB\n")
            .expect_err("accepted")
            .to_string();
        assert!(err.contains("meminfo"), "{err}");
    }
}
