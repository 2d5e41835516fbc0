//! The /proc/PID files of the process scan: read whole through a descriptor kept open between
//! scans, and parsed where procfs would panic (a garbled stat line) or do far more than needed
//! (io, cmdline, schedstat). Plain functions of bytes, below `processes`, which reads with them.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Whether procfs's `Stat` parser can slice `text` without panicking: it takes the pid before
/// the first `(`, the name up to the last `)`, and the fields from two bytes past it.
pub(crate) fn stat_is_sliceable(text: &str) -> bool {
    let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
        return false;
    };
    open >= 1
        && text.is_char_boundary(open - 1)
        && close > open
        && close + 2 <= text.len()
        && text.is_char_boundary(close + 2)
}

/// Reads a whole file from its start into `buf` (cleared first), with `pread` at offset 0: a
/// /proc file read again that way is made afresh. `read_to_end` would first ask the file's
/// size and position (statx + lseek), which a /proc file does not know.
///
/// A read that leaves room in the buffer is the end: /proc/PID files (one record made whole
/// per read, or the command line copied until it ends) and fixture files alike hand over all
/// they have, so the read that would return 0 is not made (a system call per file saved).
pub(crate) fn read_all(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut len = 0;
    buf.clear();
    loop {
        if len == buf.len() {
            // A stat line is ~300 bytes; command lines grow the buffer, which is then reused.
            buf.resize((buf.len() * 2).max(4096), 0);
        }
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if len < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
    buf.truncate(len);
    Ok(len)
}

/// Whether a /proc/PID/schedstat line counts anything: a kernel without scheduler statistics
/// writes `0 0 0` for every task, which would make them all look quiet. (A thread that never
/// used a whole nanosecond of CPU but was switched in reads `0 0 2`: counted.)
pub(crate) fn is_counted(schedstat: &[u8]) -> bool {
    schedstat.iter().any(|b| b.is_ascii_digit() && *b != b'0')
}

/// The two fields of /proc/PID/io glint reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Io {
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// /proc/PID/io; `None` when it does not parse (a kernel without task I/O accounting writes a
/// shorter file). Parsed by hand: procfs builds a map of every line for each process, ten
/// allocations where two numbers are needed.
pub(crate) fn parse_io(buf: &[u8]) -> Option<Io> {
    let text = std::str::from_utf8(buf).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(Io {
        read_bytes: field("read_bytes")?,
        write_bytes: field("write_bytes")?,
    })
}

/// Arguments of /proc/PID/cmdline, as psutil splits them: NUL-separated, except for processes
/// that rewrote their title into one space-separated string (nginx, postgres workers).
pub(crate) fn split_cmdline(data: &[u8]) -> Vec<String> {
    if data.is_empty() {
        return Vec::new(); // kernel threads and zombies
    }
    let sep = if data.ends_with(b"\0") { b'\0' } else { b' ' };
    let data = data.strip_suffix(&[sep]).unwrap_or(data);
    let mut args: Vec<&[u8]> = data.split(|&b| b == sep).collect();
    if sep == b'\0' && args.len() == 1 && data.contains(&b' ') {
        args = data.split(|&b| b == b' ').collect();
    }
    args.into_iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_splitting_follows_psutil() {
        assert_eq!(split_cmdline(b"sleep\x00100\x00"), ["sleep", "100"]);
        assert_eq!(split_cmdline(b"a b\0c\0"), ["a b", "c"]);
        assert_eq!(
            split_cmdline(b"nginx: worker process\0"),
            ["nginx:", "worker", "process"]
        );
        assert_eq!(split_cmdline(b"postgres: writer"), ["postgres:", "writer"]);
        assert_eq!(split_cmdline(b""), Vec::<String>::new());
        assert_eq!(split_cmdline(b"x\0\0"), ["x", ""]);
    }

    #[test]
    fn stat_lines_procfs_would_panic_on_are_refused() {
        assert!(stat_is_sliceable("1 (init) S 0"));
        assert!(stat_is_sliceable("7 (a) b) (c) R 1"));
        assert!(!stat_is_sliceable("(init) S 0"));
        assert!(!stat_is_sliceable("1 )init( S 0"));
        assert!(!stat_is_sliceable("1 (init)"));
        assert!(!stat_is_sliceable("1 (init)é"));
        assert!(!stat_is_sliceable("é(x) S"));
        assert!(!stat_is_sliceable("1 x S"));
    }

    #[test]
    fn io_of_an_odd_kernel_is_none() {
        assert_eq!(parse_io(b"rchar: 1\n").map(|io| io.read_bytes), None);
        assert_eq!(
            parse_io("rcharé: 1\n".as_bytes()).map(|io| io.read_bytes),
            None
        );
        let full = b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\n\
                     cancelled_write_bytes: 7\n";
        let io = parse_io(full).expect("io");
        assert_eq!((io.read_bytes, io.write_bytes), (5, 6));
    }
}
