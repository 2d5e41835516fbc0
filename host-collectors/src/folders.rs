//! `Folder`: total size of the files under each folder the operator configured.

use std::io;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::source::Source;

/// WIT `folder`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub path: String,
    /// Bytes of the files under it.
    pub size: u64,
    /// 0, or the OS error number that stopped the walk.
    pub errno: i32,
}

/// Walks each folder and sums the sizes of the regular files below it. Symbolic links are not
/// followed (a link to `/` would count the whole disk, a link loop would never end) and count
/// for nothing. An error is recorded in `errno` (the first one met) while the rest of the tree is
/// still summed, so a single unreadable subdirectory does not blank the whole folder.
///
/// Relative paths are taken relative to a fixture's directory; on the live machine they are
/// used as the operator wrote them.
pub fn folders(src: &Source, paths: &[PathBuf]) -> Vec<Folder> {
    paths
        .iter()
        .map(|path| {
            let full = match &src.folder_base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.clone(),
            };
            let (size, errno) = walk(&full);
            Folder {
                path: path.to_string_lossy().into_owned(),
                size,
                errno,
            }
        })
        .collect()
}

fn errno_of(e: &io::Error) -> i32 {
    // Errors that carry no errno are still I/O failures of some sort.
    e.raw_os_error().unwrap_or(Errno::IO.raw_os_error())
}

/// (bytes, first errno) of the tree at `root`, iteratively: a deep tree cannot overflow the
/// stack.
fn walk(root: &Path) -> (u64, i32) {
    let mut size = 0u64;
    let mut errno = 0;
    let mut note = |e: &io::Error| {
        if errno == 0 {
            errno = errno_of(e);
        }
    };
    match std::fs::symlink_metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            // A folder was asked for and this is not one.
            return (0, Errno::NOTDIR.raw_os_error());
        }
        Err(e) => return (0, errno_of(&e)),
    }
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                note(&e);
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    note(&e);
                    continue;
                }
            };
            // DirEntry::metadata does not follow symlinks.
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                Ok(meta) if meta.is_file() => size = size.saturating_add(meta.len()),
                Ok(_) => {} // symlinks, sockets, devices, pipes
                Err(e) => note(&e),
            }
        }
    }
    (size, errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_sum_and_links_are_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b/c")).expect("mkdir");
        std::fs::write(root.join("x"), [0u8; 3]).expect("write");
        std::fs::write(root.join("a/b/c/y"), [0u8; 40]).expect("write");
        let outside = dir.path().join("big");
        std::fs::write(&outside, [0u8; 1000]).expect("write");
        std::os::unix::fs::symlink(&outside, root.join("link-to-file")).expect("symlink");
        std::os::unix::fs::symlink(&root, root.join("a/loop")).expect("symlink");
        assert_eq!(walk(&root), (43, 0));
    }

    #[test]
    fn missing_and_not_a_folder_set_errno() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").expect("write");
        let src = Source::fixture(dir.path());
        let found = folders(&src, &[dir.path().join("nope"), file]);
        assert_eq!(
            (found[0].size, found[0].errno),
            (0, Errno::NOENT.raw_os_error())
        );
        assert_eq!(
            (found[1].size, found[1].errno),
            (0, Errno::NOTDIR.raw_os_error())
        );
    }
}
