//! `CollectError`: what went wrong reading the machine, naming the file and the fault.

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};

/// Why a reading could not be taken.
///
/// A reading the machine simply lacks (no `/proc/mdstat`, no hwmon) is not an error: it comes back
/// empty. These variants are for files that exist but cannot be read or do not say what the kernel
/// writes there, and for system calls that fail outright.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The file exists but reading it failed (permissions, I/O error).
    #[error("cannot read {}: {source}; check that it is readable by this user", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file was read but its content is not in the format the kernel writes.
    #[error("cannot parse {}: {what}", path.display())]
    Parse { path: PathBuf, what: String },
    /// A system call (not a file) that the reading needs failed.
    #[error("{call} failed: {what}")]
    Syscall { call: &'static str, what: String },
}

impl CollectError {
    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        CollectError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn parse(path: &Path, what: impl Display) -> Self {
        CollectError::Parse {
            path: path.to_path_buf(),
            what: what.to_string(),
        }
    }

    /// A procfs parser rejected the content of `path`.
    ///
    /// procfs reports malformed content as an "internal error ... please report this procfs bug";
    /// that advice is wrong here (the file is what is odd), so only its message is kept.
    pub(crate) fn procfs(path: &Path, error: procfs::ProcError) -> Self {
        let what = match error {
            procfs::ProcError::InternalError(inner) => inner.msg,
            other => other.to_string(),
        };
        CollectError::Parse {
            path: path.to_path_buf(),
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_fault() {
        let e = CollectError::parse(Path::new("/proc/meminfo"), "no MemTotal line");
        assert_eq!(
            e.to_string(),
            "cannot parse /proc/meminfo: no MemTotal line"
        );
        let e = CollectError::read(
            Path::new("/proc/1/io"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(
            e.to_string()
                .starts_with("cannot read /proc/1/io: permission denied")
        );
    }

    #[test]
    fn procfs_internal_errors_lose_the_report_a_bug_advice() {
        let err = <procfs::Meminfo as procfs::FromBufRead>::from_buf_read(&b"MemTotal: x kB\n"[..]);
        let Err(err) = err else {
            panic!("garbage meminfo parsed")
        };
        let e = CollectError::procfs(Path::new("/proc/meminfo"), err);
        let text = e.to_string();
        assert!(text.starts_with("cannot parse /proc/meminfo: "), "{text}");
        assert!(!text.contains("procfs bug"), "{text}");
    }
}
