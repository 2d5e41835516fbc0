//! `RaidArray`: Linux software RAID arrays from /proc/mdstat.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `raid-array`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RaidArray {
    pub name: String,
    /// `active`, `inactive`
    pub status: String,
    /// `raid1`, `raid5`, ...
    pub level: String,
    /// Member devices.
    pub components: Vec<String>,
    /// Devices in use and expected (`[2/2]`).
    pub used: u32,
    pub available: u32,
    /// Member states as in /proc/mdstat (`UU`, `U_`).
    pub config: String,
}

/// Arrays in the kernel's order; none without the md driver. procfs has no parser for this file.
pub fn raid(src: &Source) -> Result<Vec<RaidArray>, CollectError> {
    let path = src.proc_path("mdstat");
    match read_optional(&path)? {
        None => Ok(Vec::new()),
        Some(text) => parse_mdstat(&text).map_err(|what| CollectError::parse(&path, what)),
    }
}

/// An array is a `mdN : status [(flags)] [level] dev[n](F)...` line followed by indented lines;
/// the first of those carries `[expected/in-use] [UU_]` once the array is assembled.
fn parse_mdstat(text: &str) -> Result<Vec<RaidArray>, String> {
    let mut out: Vec<RaidArray> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with(char::is_whitespace) {
            if let Some(array) = out.last_mut() {
                read_state(line, array);
            }
            continue;
        }
        let Some((name, rest)) = line.split_once(" : ") else {
            continue; // `Personalities : ...` has the separator too but is caught below.
        };
        let name = name.trim();
        if name == "Personalities" || !name.starts_with("md") {
            continue;
        }
        let mut words = rest.split_whitespace().peekable();
        let Some(status) = words.next() else {
            return Err(format!("line {}: {line:?} has no array status", n + 1));
        };
        // `(read-only)`, `(auto-read-only)` follow the status.
        while words.peek().is_some_and(|w| w.starts_with('(')) {
            words.next();
        }
        // An inactive array has no level: its members follow the status directly.
        let level = match words.peek() {
            Some(w) if !w.contains('[') => words.next().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        let components = words
            .filter(|w| w.contains('['))
            .map(|w| w.split('[').next().unwrap_or_default().to_string())
            .collect();
        out.push(RaidArray {
            name: name.to_string(),
            status: status.to_string(),
            level,
            components,
            ..RaidArray::default()
        });
    }
    Ok(out)
}

/// Picks `[3/2]` and `[UU_]` out of a detail line; a recovery bar `[==>...]` matches neither.
fn read_state(line: &str, array: &mut RaidArray) {
    for word in line.split_whitespace() {
        let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) else {
            continue;
        };
        if let Some((expected, in_use)) = inner.split_once('/') {
            if let (Ok(expected), Ok(in_use)) = (expected.parse(), in_use.parse()) {
                array.available = expected;
                array.used = in_use;
            }
        } else if !inner.is_empty() && inner.chars().all(|c| c == 'U' || c == '_') {
            array.config = inner.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_and_read_only_arrays() {
        let text = "Personalities : [raid1]\n\
            md127 : inactive sdb[0](S)\n      1048576 blocks super 1.2\n\n\
            md2 : active (auto-read-only) raid1 sdc[1] sdd[0]\n      \
            1048 blocks [2/2] [UU]\n      [=>...................]  resync =  5.0% (1/2)\n\n\
            unused devices: <none>\n";
        let arrays = parse_mdstat(text).expect("parse");
        assert_eq!(arrays.len(), 2);
        assert_eq!(arrays[0].name, "md127");
        assert_eq!(arrays[0].status, "inactive");
        assert_eq!(arrays[0].level, "");
        assert_eq!(arrays[0].components, ["sdb"]);
        assert_eq!(
            (
                arrays[0].used,
                arrays[0].available,
                arrays[0].config.as_str()
            ),
            (0, 0, "")
        );
        assert_eq!(arrays[1].level, "raid1");
        assert_eq!(arrays[1].components, ["sdc", "sdd"]);
        assert_eq!(
            (
                arrays[1].used,
                arrays[1].available,
                arrays[1].config.as_str()
            ),
            (2, 2, "UU")
        );
    }

    #[test]
    fn an_array_without_status_is_an_error() {
        let err = parse_mdstat("md0 : \n").expect_err("accepted");
        assert!(err.contains("line 1"), "{err}");
    }
}
