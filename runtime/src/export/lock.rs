//! The lock on an exporter's spill directory: one exporter of one glint at a time. Two
//! writing the same directory would each replay, and delete, the other's batches (sent
//! twice, or lost when one deletes a file the other has not read yet).
//!
//! An advisory lock (`flock`) on `DIR.lock` beside the directory (inside it, it would count
//! as a file of the spill), holding the holder's pid for the message another glint shows.
//! The kernel drops it when the holder exits, however it exits: a stale file locks nothing.

use std::fs::{File, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A held lock, released when the last clone goes: the exporter's handle and its thread
/// each keep one (the thread may still spill after the handle is dropped), and a new
/// version of the exporter takes its predecessor's.
#[derive(Debug, Clone)]
pub struct SpillLock {
    _file: Arc<File>,
    pub path: PathBuf,
}

/// Another holder has the directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "[plugins.{name}] spill_dir: {dir} is in use by another glint{holder}, which holds {lock}; two exporters sharing a spill directory send and delete each other's batches: give each glint its own spill_dir, or stop the other one"
)]
pub struct SpillDirInUse {
    pub name: String,
    pub dir: String,
    /// ` (pid N)` when the holder wrote it, else empty.
    pub holder: String,
    pub lock: String,
}

/// The lock file of spill directory `dir`: `DIR.lock`, beside it.
pub fn lock_path(dir: &Path) -> PathBuf {
    let mut path = dir.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

/// Takes the lock on exporter `name`'s spill directory `dir`. Another holder (another glint,
/// or another exporter of this one) refuses it. If the lock cannot be taken at all (the
/// directory cannot be made, a file system without locks), the exporter runs unlocked,
/// said once: spilling reports its own failures, and a lock is no reason to lose batches.
pub fn acquire(name: &str, dir: &Path) -> Result<Option<SpillLock>, SpillDirInUse> {
    // One lock file per directory however its path is spelled (`/srv/spill` a link to
    // `/var/spill`, `/var//spill`): its real path names the lock (its parent's, with its
    // name, while it does not exist yet).
    let real = std::fs::canonicalize(dir).or_else(|_| {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let _ = std::fs::create_dir_all(parent);
        std::fs::canonicalize(parent).map(|p| p.join(dir.file_name().unwrap_or_default()))
    });
    let real = real.unwrap_or_else(|_| dir.to_path_buf());
    let dir = real.as_path();
    let path = lock_path(dir);
    let unlocked = |why: String| -> Result<Option<SpillLock>, SpillDirInUse> {
        tracing::warn!(
            "exporter {name}: {why}; it runs without the lock that keeps another glint out of {}",
            dir.display()
        );
        Ok(None)
    };
    if let Some(parent) = path.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        return unlocked(format!("cannot create {}: {e}", parent.display()));
    }
    // Not through a link (one planted at DIR.lock would have its target truncated below), and
    // non-blocking (a FIFO planted there opens at once, and is refused as no lock file).
    let opened = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .and_then(|file| match file.metadata() {
            Ok(m) if m.is_file() => Ok(file),
            Ok(_) => Err(std::io::Error::other("not a regular file")),
            Err(e) => Err(e),
        });
    let mut file = match opened {
        Ok(file) => file,
        Err(e) => return unlocked(format!("cannot open {}: {e}", path.display())),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(SpillDirInUse {
                name: name.to_string(),
                dir: dir.display().to_string(),
                holder: holder(&mut file),
                lock: path.display().to_string(),
            });
        }
        Err(TryLockError::Error(e)) => {
            return unlocked(format!("cannot lock {}: {e}", path.display()));
        }
    }
    // Truncated only once held: the holder's pid is never wiped by a glint it refuses.
    let pid = format!("{}\n", std::process::id());
    if let Err(e) = file
        .set_len(0)
        .and_then(|()| file.write_all(pid.as_bytes()))
    {
        tracing::debug!(
            "exporter {name}: cannot write its pid in {}: {e}",
            path.display()
        );
    }
    Ok(Some(SpillLock {
        _file: Arc::new(file),
        path,
    }))
}

/// ` (pid N)` as the holder wrote it in the lock file; empty if it has not (yet).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    // A pid is at most 7 digits (pid_max is at most 2^22): 32 bytes is plenty.
    let _ = file.take(32).read_to_string(&mut text);
    text.trim()
        .parse::<u32>()
        .map_or_else(|_| String::new(), |pid| format!(" (pid {pid})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_planted_at_the_lock_file_is_not_followed() {
        let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let precious = base.path().join("precious");
        std::fs::write(&precious, "keep me").unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(&precious, base.path().join("csv.lock"))
            .unwrap_or_else(|e| panic!("{e}"));
        // Unlocked (said in the log), its target untouched.
        let lock = acquire("csv", &base.path().join("csv")).unwrap_or_else(|e| panic!("{e}"));
        assert!(lock.is_none());
        assert_eq!(
            std::fs::read_to_string(&precious).unwrap_or_default(),
            "keep me"
        );
    }

    #[test]
    fn a_directory_spelled_another_way_is_the_same_lock() {
        let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let real = base.path().join("var");
        std::fs::create_dir_all(real.join("csv")).unwrap_or_else(|e| panic!("{e}"));
        let link = base.path().join("srv");
        std::os::unix::fs::symlink(&real, &link).unwrap_or_else(|e| panic!("{e}"));
        let _first = acquire("csv", &real.join("csv")).unwrap_or_else(|e| panic!("{e}"));
        for other in [link.join("csv"), base.path().join("var//csv")] {
            assert!(
                acquire("csv", &other).is_err(),
                "{} took a second lock on {}",
                other.display(),
                real.display()
            );
        }
    }

    #[test]
    fn a_second_holder_is_refused_naming_the_directory_and_the_pid() {
        let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = base.path().join("influxdb");
        let first = acquire("influxdb", &dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no lock taken"));
        assert_eq!(first.path, base.path().join("influxdb.lock"));
        assert!(
            !dir.exists(),
            "the lock is beside the spill directory, not in it"
        );
        // Another open file description, as another glint has: refused, even in-process.
        let e = acquire("influxdb", &dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("a second holder was let in"));
        let pid = format!("(pid {})", std::process::id());
        assert!(
            e.contains(&dir.display().to_string()) && e.contains(&pid),
            "{e}"
        );
        assert!(
            e.contains("[plugins.influxdb] spill_dir") && e.contains("its own spill_dir"),
            "{e}"
        );
        // A clone keeps it held; the last one gone releases it.
        let clone = first.clone();
        drop(first);
        assert!(acquire("influxdb", &dir).is_err(), "released too early");
        drop(clone);
        let again = acquire("influxdb", &dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.is_some(), "not released");
    }
}
