//! `Wifi`: wireless link quality per interface from /proc/net/wireless.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `wifi`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Wifi {
    pub name: String,
    /// Link quality (as /proc/net/wireless reports it) and signal level, dBm.
    pub quality_link: f64,
    pub quality_level: f64,
    pub noise: f64,
}

/// Header lines of /proc/net/wireless before the first interface.
const HEADER_LINES: usize = 2;

/// Wireless interfaces in the kernel's order; none without wireless extensions. procfs has no
/// parser for this file.
pub fn wifi(src: &Source) -> Result<Vec<Wifi>, CollectError> {
    let path = src.proc_path("net/wireless");
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(HEADER_LINES) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || CollectError::parse(&path, format!("line {}: {line:?}", n + 1));
        let mut words = line.split_whitespace();
        let name = words
            .next()
            .and_then(|w| w.strip_suffix(':'))
            .ok_or_else(bad)?;
        let _status = words.next().ok_or_else(bad)?;
        // The kernel marks updated values with a trailing `.`: `54.` is 54.
        let mut number = || -> Result<f64, CollectError> {
            let word = words.next().ok_or_else(bad)?;
            word.trim_end_matches('.').parse().map_err(|_| bad())
        };
        out.push(Wifi {
            name: name.to_string(),
            quality_link: number()?,
            quality_level: number()?,
            noise: number()?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wifi_from(text: &str) -> Result<Vec<Wifi>, CollectError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc/net")).expect("mkdir");
        std::fs::write(dir.path().join("proc/net/wireless"), text).expect("write");
        wifi(&Source::fixture(dir.path()))
    }

    const HEADER: &str = "Inter-| sta-|   Quality        |\n face | tus | link level noise |\n";

    #[test]
    fn headers_only_is_no_interface() {
        assert!(wifi_from(HEADER).expect("wifi").is_empty());
    }

    #[test]
    fn values_without_update_dots() {
        let w = wifi_from(&format!(
            "{HEADER} wlp2s0: 0000   70  -40  -95 0 0 0 0 0 0\n"
        ))
        .expect("wifi");
        assert_eq!(
            (w[0].quality_link, w[0].quality_level, w[0].noise),
            (70.0, -40.0, -95.0)
        );
    }

    #[test]
    fn a_truncated_line_names_the_file_and_line() {
        let err = wifi_from(&format!("{HEADER} wlan0: 0000   54.\n")).expect_err("accepted");
        let err = err.to_string();
        assert!(err.contains("net/wireless: line 3"), "{err}");
    }
}
