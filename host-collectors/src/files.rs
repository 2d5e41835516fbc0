//! Reading the files of /proc, /sys and /etc: whole, optional, trimmed or as one number, and
//! directory listings; the live /proc and /sys files read before are kept open between reads.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::CollectError;

/// What [`read_text`] reads at once: every /proc and /sys file a tick reads fits (the biggest,
/// /proc/interrupts and /proc/self/mountinfo, are a few KiB on a small machine), and a bigger
/// one just takes more reads.
const READ_CHUNK: usize = 16 << 10;

/// Files of /proc and /sys kept open between reads: a tick reads ~40 on a small machine (three
/// or four per network interface). Descriptors are the bound: the process scan keeps up to 900
/// open (see `processes`), and 64 more still leave the server room under the usual soft limit
/// of 1,024.
const KEPT_FILES: usize = 64;

/// The /proc and /sys files read before, open, by path. Reading one again from offset 0 makes
/// the kernel produce it afresh, so a tick's read of it costs no path lookup, open or close.
/// A kept file that fails (its device or interface is gone) is dropped and the path opened
/// again: a file that is gone reads as gone. When the cache is full every file is dropped, so
/// the files of interfaces long gone make room and the ones still read are kept again. Each
/// behind its own lock, so that a file of several chunks is read from one production of it.
static KEPT: Mutex<BTreeMap<PathBuf, Arc<Mutex<File>>>> = Mutex::new(BTreeMap::new());

/// The whole text of `path`, read in as few system calls as the kernel allows.
///
/// Not `std::fs::read_to_string`: /proc and /sys files say they are empty (or 4 KiB) to
/// `statx`, so it asks for their size (two more system calls), then reads 32 bytes and grows
/// from there, a read per doubling: half a dozen system calls for a 2 KiB file where this
/// takes two (the data, then the end). The end of a seq_file of many records (mountinfo,
/// interrupts) is read, not assumed from a short read: it hands out a page per read. A sysfs
/// attribute or a sysctl value is made in one call, so there a short read is the end: one
/// system call (see [`Production`]).
///
/// Files of the live /proc and /sys stay open for the next read (see [`KEPT`]); others (a
/// fixture's, /etc) are opened each time, so a file replaced or removed is read as it is now.
pub(crate) fn read_text(path: &Path) -> io::Result<String> {
    let keep = path.starts_with("/proc/") || path.starts_with("/sys/");
    let production = Production::of(path);
    if keep {
        let kept = KEPT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned();
        if let Some(file) = kept {
            let read = read_whole(
                &file.lock().unwrap_or_else(PoisonError::into_inner),
                production,
            );
            match read {
                Ok(text) => return Ok(text),
                // The attribute has no value now (`speed` of a link that is down): the file
                // stays open for the next tick.
                Err(e) if no_value_now(&e) => return Err(e),
                Err(_) => {
                    KEPT.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(path);
                }
            }
        }
    }
    let file = File::open(path)?;
    let read = read_whole(&file, production);
    let open_for_next = match &read {
        Ok(_) => true,
        Err(e) => no_value_now(e),
    };
    if keep && open_for_next {
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= KEPT_FILES {
            kept.clear();
        }
        kept.insert(path.to_path_buf(), Arc::new(Mutex::new(file)));
    }
    read
}

/// `EINVAL`: what sysfs answers for an attribute its device cannot give now (the `speed` of a
/// virtual or unplugged link). The file is still the device's: unlike `ENODEV` (the device is
/// gone), it may read again later.
fn no_value_now(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

/// How the kernel hands a file out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Production {
    /// Made whole by one call (a sysfs attribute, at most a page; a sysctl value), so a read
    /// that leaves room in the buffer is the end.
    OneCall,
    /// A seq_file of many records (mountinfo, interrupts), handed out a page per read even
    /// when there is more: only a read of 0 is the end.
    Records,
}

impl Production {
    fn of(path: &Path) -> Production {
        if path.starts_with("/sys/") || path.starts_with("/proc/sys/") {
            Production::OneCall
        } else {
            Production::Records
        }
    }
}

/// A page: a sysfs attribute is at most one, and a sysctl value is read into a kernel
/// buffer as big as the read, so a smaller first read costs the kernel less.
const ONE_CALL_CHUNK: usize = 4 << 10;

/// All of `file` from offset 0, as text.
fn read_whole(file: &File, production: Production) -> io::Result<String> {
    let first = match production {
        Production::OneCall => ONE_CALL_CHUNK,
        Production::Records => READ_CHUNK,
    };
    let mut buf = vec![0; first];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if production == Production::OneCall && len < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The whole text of `path`; `None` when the file does not exist (the machine lacks it).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            Err(CollectError::parse(path, "not UTF-8 text"))
        }
        Err(e) => Err(CollectError::read(path, e)),
    }
}

/// Like [`read_optional`], without the trailing newline sysfs and procctl files end with.
pub(crate) fn read_trimmed(path: &Path) -> Result<Option<String>, CollectError> {
    Ok(read_optional(path)?.map(|text| text.trim().to_string()))
}

/// A one-number file (`/proc/sys/kernel/pid_max`, sysfs attributes); `None` when absent.
pub(crate) fn read_number<T: std::str::FromStr>(path: &Path) -> Result<Option<T>, CollectError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(text) => {
            text.trim().parse().map(Some).map_err(|_| {
                CollectError::parse(path, format!("expected a number, found {text:?}"))
            })
        }
    }
}

/// Directory entries of `dir` sorted by name; empty when `dir` does not exist.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>, CollectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::read(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::read(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_proc_file_is_read_afresh() {
        // /proc/uptime moves every 10 ms; the second read goes through the kept file.
        let path = Path::new("/proc/uptime");
        let first = read_text(path).expect("read /proc/uptime");
        std::thread::sleep(std::time::Duration::from_millis(50));
        let second = read_text(path).expect("read /proc/uptime again");
        assert!(KEPT.lock().expect("lock").contains_key(path));
        assert_ne!(first, second);
        assert!(second.ends_with('\n') && second.split_whitespace().count() == 2);
    }

    #[test]
    fn a_sysfs_attribute_without_a_value_now_stays_open_and_one_with_reads_whole() {
        // Every Linux has `lo`; the kernel has no speed for it (EINVAL), and an MTU.
        let speed = Path::new("/sys/class/net/lo/speed");
        for _ in 0..2 {
            let err = read_text(speed).expect_err("lo has a speed");
            assert!(no_value_now(&err), "{err}");
            assert!(KEPT.lock().expect("lock").contains_key(speed));
        }
        let mtu = Path::new("/sys/class/net/lo/mtu");
        let text = read_text(mtu).expect("read lo's mtu");
        assert_eq!(read_text(mtu).expect("read lo's mtu again"), text);
        assert!(text.trim().parse::<u32>().is_ok_and(|n| n > 0), "{text:?}");
        // A file that is not a sysfs attribute or a sysctl is read to its end.
        assert_eq!(
            Production::of(Path::new("/proc/self/mountinfo")),
            Production::Records
        );
        assert_eq!(
            Production::of(Path::new("/proc/sys/kernel/pid_max")),
            Production::OneCall
        );
    }

    #[test]
    fn missing_files_are_none_and_bad_ones_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_optional(&dir.path().join("nope")).expect("absent"),
            None
        );
        let bin = dir.path().join("bin");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).expect("write");
        let err = read_optional(&bin)
            .expect_err("binary accepted")
            .to_string();
        assert!(err.contains("not UTF-8"), "{err}");
        let num = dir.path().join("num");
        std::fs::write(&num, "12x\n").expect("write");
        let err = read_number::<u64>(&num)
            .expect_err("12x accepted")
            .to_string();
        assert!(err.contains("\"12x\\n\""), "{err}");
        std::fs::write(&num, "42\n").expect("write");
        assert_eq!(read_number::<u64>(&num).expect("42"), Some(42));
    }
}
