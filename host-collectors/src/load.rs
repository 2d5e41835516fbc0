//! `Load`: the 1, 5 and 15 minute load averages from /proc/loadavg.

use procfs::{FromRead, LoadAverage};
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;

/// WIT `load`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub min1: f64,
    pub min5: f64,
    pub min15: f64,
}

pub fn load(src: &Source) -> Result<Load, CollectError> {
    let path = src.proc_path("loadavg");
    let Some(text) = read_optional(&path)? else {
        return Ok(Load::default());
    };
    let avg =
        LoadAverage::from_read(text.as_bytes()).map_err(|e| CollectError::procfs(&path, e))?;
    Ok(Load {
        min1: two_decimals(avg.one),
        min5: two_decimals(avg.five),
        min15: two_decimals(avg.fifteen),
    })
}

/// procfs parses into f32, so `0.52` arrives as `0.519999980...`. The kernel prints exactly two
/// decimals (`LOAD_INT.LOAD_FRAC`), so rounding back to two gives the f64 of what it wrote.
fn two_decimals(value: f32) -> f64 {
    (f64::from(value) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_noise_is_removed() {
        assert_eq!(two_decimals(0.52), 0.52);
        assert_eq!(two_decimals(123.45), 123.45);
        assert_eq!(two_decimals(0.0), 0.0);
    }
}
