//! Giving back the pages of glint's own code, and of its plugins' compiled code, that only
//! starting up touched (argument parsing, config, loading plugins), and the heap compiling
//! freed, so a long-running glint keeps resident only what its ticks and requests use.
//!
//! The kernel maps a file's pages 64 KiB at a time around each one touched ("fault-around"),
//! so sparse start-up code leaves most of the binary's text resident for good. Dropping the
//! mappings of clean, read-only, file-backed pages once is safe: nothing is lost (they are
//! the file's own bytes), and what is used again is mapped back from the page cache.

use std::path::Path;

/// What one trim did.
#[derive(Debug, Default, PartialEq)]
pub struct Trimmed {
    pub mappings: usize,
    /// Resident bytes dropped from those mappings.
    pub bytes: u64,
}

/// One mapping of `/proc/self/smaps`, as far as trimming needs it.
#[derive(Debug, Default)]
struct Mapping {
    start: usize,
    end: usize,
    perms: String,
    path: String,
    rss_kb: u64,
    anonymous_kb: u64,
}

impl Mapping {
    /// Safe to drop: a private, non-writable mapping of a file, with no page of its own (no
    /// copy-on-write page, which dropping would revert to the file's bytes).
    fn trimmable(&self, exe: &str) -> bool {
        let perms = self.perms.as_bytes();
        let path = self.path.trim_end_matches(" (deleted)");
        perms.len() == 4
            && perms[1] != b'w'
            && perms[3] == b'p'
            && self.anonymous_kb == 0
            && self.rss_kb > 0
            // The executable, and compiled plugins mapped from the component cache.
            && (path == exe || path.ends_with(glint::plugins::engine::CACHE_SUFFIX))
    }
}

/// Parses smaps into mappings.
fn mappings(smaps: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            let perms = parts.next().unwrap_or_default().to_string();
            // offset, device, inode, then the path (which may hold spaces).
            let path = parts.skip(3).collect::<Vec<_>>().join(" ");
            out.push(Mapping {
                start,
                end,
                perms,
                path,
                ..Mapping::default()
            });
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let kb = || {
            line.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        };
        match first {
            "Rss:" => current.rss_kb = kb(),
            // Unknown is treated as "has private pages": never trimmed.
            "Anonymous:" => current.anonymous_kb = kb(),
            _ => {}
        }
    }
    out
}

/// Makes every thread allocate from one glibc arena. glibc gives each thread that allocates
/// an arena of its own (up to 8 per core), and each keeps the pages its peak needed: glint's
/// plugin workers and server threads held 4.2 MB in five arenas where one holds 3.2 MB
/// (VmRSS of an idle server, 60 s). Its threads allocate little and at different moments,
/// so they rarely wait for each other's lock (each has its own small cache in front of it).
/// Call it first thing, before any thread starts.
pub fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Drops the resident pages of glint's executable and compiled-plugin mappings that are safe
/// to drop, and asks the kernel to forget the cached pages of those files that no process
/// maps now.
///
/// The second part is for a freshly written binary (just built, copied or installed): the
/// page cache holds it in the large blocks it was written in, and a fault maps every cached
/// page around it, so the same code keeps ~3 MB more resident (20.9 against 17.8 MB measured
/// here) than once it has been read back as it is used. The cost is one read from disk of
/// what the next start uses, as after any eviction.
/// Best effort: on any error nothing more is done (memory use is all that is at stake).
pub fn startup_pages() -> Trimmed {
    let mut trimmed = Trimmed::default();
    let Ok(exe) = std::env::current_exe() else {
        return trimmed;
    };
    let Ok(smaps) = std::fs::read_to_string(Path::new("/proc/self/smaps")) else {
        return trimmed;
    };
    let exe = exe.display().to_string();
    let trimmable: Vec<Mapping> = mappings(&smaps)
        .into_iter()
        .filter(|m| m.trimmable(&exe))
        .collect();
    for mapping in &trimmable {
        let len = mapping.end.saturating_sub(mapping.start);
        let advise = |advice| {
            // SAFETY: the range is a whole mapping of this process, read-only, private and
            // backed by the executable's file with no private page (checked above from the
            // kernel's own accounting), so MADV_DONTNEED only unmaps pages identical to the
            // file (the next access maps them back) and MADV_RANDOM only turns off read-ahead
            // for its faults. No Rust reference can observe a change.
            #[allow(unsafe_code)]
            unsafe {
                rustix::mm::madvise(mapping.start as *mut std::ffi::c_void, len, advice)
            }
        };
        // A page used again is then read alone: with no neighbour read ahead into the cache,
        // the fault maps only what is used.
        let _ = advise(rustix::mm::Advice::Random);
        if advise(rustix::mm::Advice::LinuxDontNeed).is_ok() {
            trimmed.mappings += 1;
            trimmed.bytes += mapping.rss_kb * 1024;
        }
    }
    let mut files: Vec<&str> = trimmable
        .iter()
        .map(|m| m.path.trim_end_matches(" (deleted)"))
        .collect();
    files.sort_unstable();
    files.dedup();
    for path in files {
        if let Ok(file) = std::fs::File::open(path) {
            // Pages mapped now (ours since the trim, or another process's) stay.
            let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
        }
    }
    // Compiling plugins (a cold cache) frees tens of MB into glibc's arenas, which keep it.
    // SAFETY: malloc_trim only returns free memory to the kernel; it is thread-safe and
    // touches no live allocation.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c06fd000 r--p 00000000 fe:01 1234 /usr/bin/glint
Rss:                3248 kB
Anonymous:             0 kB
55d0c06fd000-55d0c17ee000 r-xp 006fd000 fe:01 1234 /usr/bin/glint
Rss:                8412 kB
Anonymous:             0 kB
55d0c17ee000-55d0c18a5000 r--p 017ee000 fe:01 1234 /usr/bin/glint
Rss:                 736 kB
Anonymous:           736 kB
55d0c18a5000-55d0c18aa000 rw-p 018a5000 fe:01 1234 /usr/bin/glint
Rss:                  20 kB
Anonymous:            20 kB
7f0000100000-7f0000140000 r-xp 00001000 fe:01 77 /root/.cache/glint/components/ab12.cwasm
Rss:                 256 kB
Anonymous:             0 kB
7f0000140000-7f0000150000 r--p 00041000 fe:01 77 /root/.cache/glint/components/ab12.cwasm
Rss:                  64 kB
Anonymous:             4 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:01 99 /usr/lib/libc.so.6
Rss:                1496 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Rss:                 100 kB
Anonymous:           100 kB
";

    #[test]
    fn only_clean_read_only_mappings_of_the_executable_are_trimmed() {
        let all = mappings(SMAPS);
        assert_eq!(all.len(), 8);
        let picked: Vec<&str> = all
            .iter()
            .filter(|m| m.trimmable("/usr/bin/glint"))
            .map(|m| m.perms.as_str())
            .collect();
        // Relocated RELRO and a touched plugin page (private pages), data and other
        // libraries stay.
        assert_eq!(picked, ["r--p", "r-xp", "r-xp"]);
        assert_eq!(all[1].start, 0x55d0c06fd000);
        assert_eq!(all[1].rss_kb, 8412);
    }

    #[test]
    fn trimming_the_running_test_binary_keeps_it_running() {
        let first = startup_pages();
        assert!(first.mappings >= 1, "{first:?}");
        // The code runs on after its pages were dropped: they map back on use.
        let sum: u64 = (0..1000u64).map(|i| i * i).sum();
        assert_eq!(sum, 332_833_500);
        let text = format!("{first:?}");
        assert!(text.contains("Trimmed"));
    }
}
