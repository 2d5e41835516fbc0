//! `Filesystem`: mounted real filesystems (/proc/self/mounts filtered by /proc/filesystems) and
//! their usage (statvfs), as psutil's `disk_partitions(all=False)` + `disk_usage`.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `filesystem`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filesystem {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
    /// Bytes. `free` is what an unprivileged user may still use.
    pub size: u64,
    pub used: u64,
    pub free: u64,
}

/// Real filesystems in mount order. A mount whose statvfs fails (a stale network mount, a mount
/// point this user may not enter) is left out, as psutil users (Glances) do.
pub fn filesystems(src: &Source) -> Result<Vec<Filesystem>, CollectError> {
    let mounts_path = src.proc_path("self/mounts");
    let Some(mounts) = read_optional(&mounts_path)? else {
        return Ok(Vec::new());
    };
    let filesystems = read_optional(&src.proc_path("filesystems"))?;
    let real_types = filesystems.as_deref().map(real_fs_types);
    let mut out = Vec::new();
    for (n, line) in mounts.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mount = parse_mount_line(line).ok_or_else(|| {
            CollectError::parse(
                &mounts_path,
                format!("line {}: {line:?} is not a mount", n + 1),
            )
        })?;
        let keep = match &real_types {
            Some(types) => !mount.device.is_empty() && types.contains(mount.fs_type.as_str()),
            // No /proc/filesystems to tell pseudo filesystems apart: keep block devices only.
            None => mount.device.starts_with('/'),
        };
        if !keep {
            continue;
        }
        let Some(st) = src.syscalls.statvfs(Path::new(&mount.mount_point))? else {
            continue;
        };
        out.push(Filesystem {
            size: st.f_blocks.saturating_mul(st.f_frsize),
            free: st.f_bavail.saturating_mul(st.f_frsize),
            used: st
                .f_blocks
                .saturating_sub(st.f_bfree)
                .saturating_mul(st.f_frsize),
            ..mount
        });
    }
    Ok(out)
}

/// Types /proc/filesystems lists without `nodev`: those backed by a device. psutil adds `zfs`,
/// which is `nodev` yet holds real data.
fn real_fs_types(text: &str) -> HashSet<&str> {
    text.lines()
        .filter_map(|line| match line.split_once('\t') {
            Some(("nodev", fs)) => (fs.trim() == "zfs").then_some("zfs"),
            Some((_, fs)) => Some(fs.trim()),
            None => Some(line.trim()),
        })
        .filter(|fs| !fs.is_empty())
        .collect()
}

/// One line of /proc/self/mounts: `device mount-point type options freq passno`.
///
/// Parsed here rather than with procfs's `MountEntry`: procfs 0.18 leaves `\040` (a space in a
/// path) escaped and keeps the options in a HashMap, which loses the order `mount` prints them in.
fn parse_mount_line(line: &str) -> Option<Filesystem> {
    let mut fields = line.split(' ');
    let device = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    let fs_type = unescape(fields.next()?);
    let options = unescape(fields.next()?);
    if mount_point.is_empty() || fs_type.is_empty() {
        return None;
    }
    Some(Filesystem {
        // psutil's convention: a device named `none` is no device.
        device: if device == "none" {
            String::new()
        } else {
            device
        },
        mount_point,
        fs_type,
        options,
        ..Filesystem::default()
    })
}

/// Undoes the kernel's `\ooo` octal escaping of space, tab, newline and backslash in mounts.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| {
            bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_undone() {
        assert_eq!(unescape(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape(r"a\011b\012c\134d"), "a\tb\nc\\d");
        // Not an escape: left as written.
        assert_eq!(unescape(r"a\09b\"), r"a\09b\");
        assert_eq!(unescape(r"\777"), r"\777");
    }

    #[test]
    fn mount_lines() {
        let m = parse_mount_line("/dev/sda1 /boot\\040efi vfat rw,relatime,fmask=0022 0 0")
            .expect("a mount");
        assert_eq!(m.device, "/dev/sda1");
        assert_eq!(m.mount_point, "/boot efi");
        assert_eq!(m.fs_type, "vfat");
        assert_eq!(m.options, "rw,relatime,fmask=0022");
        let none = parse_mount_line("none /run tmpfs rw 0 0").expect("a mount");
        assert_eq!(none.device, "");
        assert_eq!(parse_mount_line("garbage"), None);
    }

    #[test]
    fn nodev_types_are_not_real_except_zfs() {
        let types = real_fs_types("nodev\tsysfs\nnodev\tproc\n\text4\n\tvfat\nnodev\tzfs\n");
        let mut types: Vec<_> = types.into_iter().collect();
        types.sort();
        assert_eq!(types, ["ext4", "vfat", "zfs"]);
    }
}
