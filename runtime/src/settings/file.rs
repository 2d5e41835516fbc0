//! Reading a file someone put down for glint (a plugin's component or manifest): a regular
//! file only, looked at before it is opened and again once open, never waited on, and read
//! up to a cap. A FIFO, a device, a socket or a directory under a plugin's name is refused
//! with what it is, instead of blocking (a FIFO without a writer) or never ending
//! (`/dev/zero`).

use std::fs::{FileType, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// A file that could not be read, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {fault}")]
pub struct ReadError {
    pub path: String,
    pub fault: Fault,
}

/// What was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("cannot read it: {0}")]
    Io(std::io::Error),
    #[error("a symbolic link whose target cannot be read ({0}); point it at a regular file")]
    BrokenLink(std::io::Error),
    #[error(
        "{kind}, not a regular file; {what} must be a regular file (or a symbolic link to one): put the file itself there"
    )]
    NotRegular {
        kind: &'static str,
        what: &'static str,
    },
    #[error("{} is more than the {} {what} may be", size_text(*size), size_text(*max))]
    TooBig {
        size: u64,
        max: u64,
        what: &'static str,
    },
    #[error("not UTF-8 text ({0}); {1} is a TOML file")]
    NotText(std::str::Utf8Error, &'static str),
}

/// What an entry is, as a message names it.
pub fn kind_of(file_type: FileType) -> &'static str {
    if file_type.is_file() {
        "a regular file"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a Unix socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Reads `path` whole if it is (or links to) a regular file of at most `max` bytes; `what`
/// names it in errors ("a plugin component"). Symbolic links are followed: only what they
/// lead to is checked.
pub fn read_regular(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let fail = |fault: Fault| ReadError {
        path: path.display().to_string(),
        fault,
    };
    // Looked at before it is opened: opening a device may act on it (a tape rewinds, a
    // watchdog arms), so a special file is refused unopened.
    let meta = std::fs::metadata(path).map_err(|e| {
        let broken_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
        fail(if broken_link {
            Fault::BrokenLink(e)
        } else {
            Fault::Io(e)
        })
    })?;
    check(&meta, max, what).map_err(fail)?;
    // The entry may be swapped between that look and the open: opened non-blocking (a FIFO
    // put there meanwhile opens at once instead of waiting for a writer) and without
    // becoming glint's controlling terminal, then judged by what was opened.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| fail(Fault::Io(e)))?;
    let meta = file.metadata().map_err(|e| fail(Fault::Io(e)))?;
    check(&meta, max, what).map_err(fail)?;
    // Capped as it is read, too: a file that grows meanwhile stops at the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(Fault::Io(e)))?;
    if bytes.len() as u64 > max {
        return Err(fail(Fault::TooBig {
            size: bytes.len() as u64,
            max,
            what,
        }));
    }
    Ok(bytes)
}

/// [`read_regular`] of a text file.
pub fn read_text(path: &Path, max: u64, what: &'static str) -> Result<String, ReadError> {
    let bytes = read_regular(path, max, what)?;
    String::from_utf8(bytes).map_err(|e| ReadError {
        path: path.display().to_string(),
        fault: Fault::NotText(e.utf8_error(), what),
    })
}

/// A regular file of at most `max` bytes.
fn check(meta: &Metadata, max: u64, what: &'static str) -> Result<(), Fault> {
    if !meta.is_file() {
        return Err(Fault::NotRegular {
            kind: kind_of(meta.file_type()),
            what,
        });
    }
    if meta.len() > max {
        return Err(Fault::TooBig {
            size: meta.len(),
            max,
            what,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Runs `f` on a thread and fails if it takes more than 10 s: without the checks above,
    /// a FIFO blocks the read for ever and `/dev/zero` never ends.
    fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("reading {what} did not return within 10 s"))
    }

    fn refusal(path: &Path) -> String {
        let path = path.to_path_buf();
        let shown = path.display().to_string();
        within_10s(&shown, move || {
            read_regular(&path, 1 << 20, "a plugin component")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| panic!("{} was read", path.display()))
        })
    }

    #[test]
    fn only_a_regular_file_is_read_and_nothing_blocks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let at = |name: &str| dir.path().join(name);
        std::fs::write(at("good.wasm"), b"\0asm").unwrap_or_else(|e| panic!("{e}"));
        let made = std::process::Command::new("mkfifo")
            .arg(at("fifo.wasm"))
            .status()
            .unwrap_or_else(|e| panic!("mkfifo: {e}"));
        assert!(made.success(), "mkfifo failed");
        std::os::unix::fs::symlink("/dev/zero", at("zero.wasm")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(at("good.wasm"), at("link.wasm"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(at("missing"), at("dangling.wasm"))
            .unwrap_or_else(|e| panic!("{e}"));
        let _socket = std::os::unix::net::UnixListener::bind(at("socket.wasm"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(at("dir.wasm")).unwrap_or_else(|e| panic!("{e}"));
        let sparse = std::fs::File::create(at("sparse.wasm")).unwrap_or_else(|e| panic!("{e}"));
        sparse
            .set_len(1 << 34)
            .unwrap_or_else(|e| panic!("a 16 GiB sparse file: {e}"));

        for (name, says) in [
            ("fifo.wasm", "a FIFO (named pipe), not a regular file"),
            ("zero.wasm", "a character device, not a regular file"),
            ("socket.wasm", "a Unix socket, not a regular file"),
            ("dir.wasm", "a directory, not a regular file"),
            (
                "dangling.wasm",
                "a symbolic link whose target cannot be read",
            ),
            (
                "sparse.wasm",
                "16384 MiB is more than the 1 MiB a plugin component may be",
            ),
        ] {
            let e = refusal(&at(name));
            assert!(e.contains(name) && e.contains(says), "{name}: {e}");
        }
        // A link to a regular file is followed.
        let read = read_regular(&at("link.wasm"), 1 << 20, "a plugin component");
        assert_eq!(read.ok().as_deref(), Some(&b"\0asm"[..]));
        let e = read_regular(&at("good.wasm"), 3, "a plugin component")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("4 bytes is more than the 3 bytes"), "{e}");
    }
}
