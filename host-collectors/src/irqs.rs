//! `Irq`: interrupt counts per source from /proc/interrupts, summed over CPUs.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `irq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Irq {
    /// The first column of /proc/interrupts (`0`, `NMI`, `LOC`).
    pub name: String,
    /// Device names or description.
    pub description: String,
    /// Count since boot, summed over CPUs.
    pub count: u64,
}

/// Sources in the kernel's order. procfs has no parser for this file.
pub fn irqs(src: &Source) -> Result<Vec<Irq>, CollectError> {
    let path = src.proc_path("interrupts");
    match read_optional(&path)? {
        None => Ok(Vec::new()),
        Some(text) => parse_interrupts(&text).map_err(|what| CollectError::parse(&path, what)),
    }
}

/// The header names one column per online CPU; each line has up to that many counts (`ERR` and
/// `MIS` have one), then a free-form description.
fn parse_interrupts(text: &str) -> Result<Vec<Irq>, String> {
    let mut lines = text.lines();
    let cpus = lines
        .next()
        .map_or(0, |header| header.split_whitespace().count());
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        let mut words = line.split_whitespace().peekable();
        let Some(first) = words.next() else {
            continue;
        };
        let Some(name) = first.strip_suffix(':') else {
            return Err(format!(
                "line {}: {line:?} does not start with `NAME:`",
                n + 2
            ));
        };
        let mut count = 0u64;
        for _ in 0..cpus {
            match words.peek().and_then(|w| w.parse::<u64>().ok()) {
                Some(c) => {
                    count = count.saturating_add(c);
                    words.next();
                }
                None => break,
            }
        }
        out.push(Irq {
            name: name.to_string(),
            description: words.collect::<Vec<_>>().join(" "),
            count,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_over_cpus_and_short_lines_are_fine() {
        let text = "           CPU0       CPU1\n  0:         10          5   IO-APIC   2-edge      timer\n\
                    NMI:          1          2   Non-maskable interrupts\nERR:          3\n\n";
        let irqs = parse_interrupts(text).expect("parse");
        assert_eq!(irqs.len(), 3);
        assert_eq!(irqs[0].name, "0");
        assert_eq!(irqs[0].count, 15);
        assert_eq!(irqs[0].description, "IO-APIC 2-edge timer");
        assert_eq!(irqs[1].description, "Non-maskable interrupts");
        assert_eq!(
            (
                irqs[2].name.as_str(),
                irqs[2].count,
                irqs[2].description.as_str()
            ),
            ("ERR", 3, "")
        );
    }

    #[test]
    fn a_description_starting_with_digits_is_not_counted_past_the_cpu_columns() {
        let text = "CPU0\n 5: 7 8 9-edge dev\n";
        let irqs = parse_interrupts(text).expect("parse");
        assert_eq!(
            (irqs[0].count, irqs[0].description.as_str()),
            (7, "8 9-edge dev")
        );
    }

    #[test]
    fn a_line_without_name_is_an_error() {
        let err = parse_interrupts("CPU0\nfoo 1\n").expect_err("accepted");
        assert!(err.contains("line 2"), "{err}");
    }
}
