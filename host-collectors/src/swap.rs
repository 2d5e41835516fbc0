//! `Swap`: swap space from /proc/meminfo and swap traffic from /proc/vmstat.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::memory::MAX_KB_DIGITS;
use crate::source::Source;

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
    let path = src.proc_path("meminfo");
    let (total, free) = match read_optional(&path)? {
        None => (0, 0),
        Some(text) => (
            meminfo_bytes(&text, "SwapTotal", &path)?,
            meminfo_bytes(&text, "SwapFree", &path)?,
        ),
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

/// The `key: N kB` line of /proc/meminfo, in bytes; 0 when the kernel lacks it. Two of its
/// ~55 lines: a scan, not procfs' map of them all (as `memory` needs).
fn meminfo_bytes(text: &str, key: &str, path: &Path) -> Result<u64, CollectError> {
    let Some(value) = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == key).then(|| value.trim().trim_end_matches("kB").trim_end())
    }) else {
        return Ok(0);
    };
    match value.parse::<u64>() {
        Ok(kb) if value.len() <= MAX_KB_DIGITS => Ok(kb * 1024),
        _ => Err(CollectError::parse(
            path,
            format!("{key} is not a size in kB: {value:?}"),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn swap_from(meminfo: &str, vmstat: &str) -> Result<Swap, CollectError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc")).expect("mkdir");
        std::fs::write(dir.path().join("proc/meminfo"), meminfo).expect("write");
        std::fs::write(dir.path().join("proc/vmstat"), vmstat).expect("write");
        swap(&Source::fixture(dir.path()))
    }

    #[test]
    fn space_from_meminfo_and_traffic_from_vmstat() {
        let s = swap_from(
            "MemTotal: 1000 kB\nSwapCached: 1 kB\nSwapTotal:    2048 kB\nSwapFree:  512 kB\n",
            "pgpgin 5\npswpin 3\npswpout 4\n",
        )
        .expect("swap");
        assert_eq!(
            (s.total, s.free, s.used),
            (2048 * 1024, 512 * 1024, 1536 * 1024)
        );
        let page = Source::fixture("/nonexistent").page_size;
        assert_eq!((s.sin, s.sout), (3 * page, 4 * page));
        let none = swap_from("MemTotal: 1000 kB\n", "").expect("no swap lines");
        assert_eq!(none, Swap::default());
    }

    #[test]
    fn a_garbled_or_absurd_size_names_the_line() {
        let err = swap_from("SwapTotal: lots kB\n", "").expect_err("accepted");
        assert!(err.to_string().contains("SwapTotal"), "{err}");
        let err = swap_from("SwapTotal: 99999999999999999 kB\n", "").expect_err("accepted");
        assert!(err.to_string().contains("SwapTotal"), "{err}");
    }
}
