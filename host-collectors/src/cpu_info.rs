//! `CpuInfo`: model, core counts and frequencies, from /proc/cpuinfo and cpufreq.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::{read_number, read_optional};
use crate::source::{Source, read_once};

/// WIT `cpu-info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    pub model: String,
    pub physical_cores: u32,
    pub logical_cores: u32,
    /// Current frequency averaged over CPUs, MHz (0 when unknown).
    pub freq_current_mhz: f64,
    /// Maximum frequency, MHz (0 when unknown).
    pub freq_max_mhz: f64,
}

/// Where architectures put the CPU model: x86 `model name`, 32-bit ARM `Processor`, MIPS
/// `cpu model`, POWER `cpu`. The first one present wins.
const MODEL_KEYS: [&str; 4] = ["model name", "Processor", "cpu model", "cpu"];

pub fn cpu_info(src: &Source) -> Result<CpuInfo, CollectError> {
    // The hardware's limit, read once: asking sysfs for a file a machine without cpufreq
    // lacks (most VMs) walks the path to fail every tick.
    let freq_max_mhz = read_once(&src.cpu_max_mhz, || {
        let max_path = src.sys_path("devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
        Ok(read_number::<u64>(&max_path)?.map_or(0.0, |khz| khz as f64 / 1000.0))
    })?;

    let path = src.proc_path("cpuinfo");
    let Some(text) = read_optional(&path)? else {
        return Ok(CpuInfo {
            freq_max_mhz,
            ..CpuInfo::default()
        });
    };
    // A scan of `key : value` lines, not procfs' map of every field of every CPU: the `flags`
    // and `bugs` lines alone are a hundred words each, and this runs every tick.
    let found = scan(&text);
    let model = if found.cpus == 0 {
        String::new()
    } else {
        found
            .models
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or_default()
            .to_string()
    };
    let logical_cores = u32::try_from(found.cpus).unwrap_or(u32::MAX);
    // Without topology lines (ARM, most VMs without SMP info) one core per logical CPU is the
    // only count we can stand behind.
    let physical_cores = match u32::try_from(found.cores.len()).unwrap_or(u32::MAX) {
        0 => logical_cores,
        n => n,
    };
    Ok(CpuInfo {
        model,
        physical_cores,
        logical_cores,
        freq_current_mhz: if found.mhz_count == 0 {
            0.0
        } else {
            found.mhz_sum / f64::from(found.mhz_count)
        },
        freq_max_mhz,
    })
}

/// What a scan of /proc/cpuinfo found.
#[derive(Default)]
struct Scan<'a> {
    /// `processor` lines: the logical CPUs.
    cpus: usize,
    /// The first value of each of `MODEL_KEYS`.
    models: [Option<&'a str>; MODEL_KEYS.len()],
    /// Distinct (physical id, core id) pairs.
    cores: HashSet<(u32, u32)>,
    /// The sum and count of the `cpu MHz` lines.
    mhz_sum: f64,
    mhz_count: u32,
}

/// Scans /proc/cpuinfo's `text`, CPU block by CPU block.
fn scan(text: &str) -> Scan<'_> {
    let mut found = Scan::default();
    let (mut package, mut core) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "processor" {
            // A new CPU's block: the previous one's topology is complete.
            if let (Some(p), Some(c)) = (package.take(), core.take()) {
                found.cores.insert((p, c));
            }
            found.cpus += 1;
        } else if let Some(i) = MODEL_KEYS.iter().position(|k| *k == key) {
            found.models[i] = found.models[i].or(Some(value));
        } else if found.cpus > 0 {
            match key {
                "physical id" => package = value.parse::<u32>().ok(),
                "core id" => core = value.parse::<u32>().ok(),
                "cpu MHz" => {
                    if let Ok(mhz) = value.parse::<f64>() {
                        found.mhz_sum += mhz;
                        found.mhz_count += 1;
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some(p), Some(c)) = (package, core) {
        found.cores.insert((p, c));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info_from(cpuinfo: &str) -> CpuInfo {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc")).expect("mkdir");
        std::fs::write(dir.path().join("proc/cpuinfo"), cpuinfo).expect("write");
        cpu_info(&Source::fixture(dir.path())).expect("cpu_info")
    }

    #[test]
    fn hyperthreads_count_once_as_physical_cores() {
        let block = |n: u32, core: u32, mhz: &str| {
            format!(
                "processor\t: {n}\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t\t: {core}\n\
                 cpu MHz\t\t: {mhz}\n\n"
            )
        };
        let text = [
            block(0, 0, "1000.0"),
            block(1, 0, "2000.0"),
            block(2, 1, "3000.0"),
        ]
        .concat();
        let info = info_from(&text);
        assert_eq!(info.model, "Test CPU");
        assert_eq!(info.logical_cores, 3);
        assert_eq!(info.physical_cores, 2);
        assert_eq!(info.freq_current_mhz, 2000.0);
        assert_eq!(info.freq_max_mhz, 0.0);
    }

    #[test]
    fn arm_without_topology_or_mhz_counts_logical_cores() {
        let text = "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n\n\
                    Hardware\t: BCM2835\n";
        let info = info_from(text);
        assert_eq!(info.logical_cores, 2);
        assert_eq!(info.physical_cores, 2);
        assert_eq!(info.freq_current_mhz, 0.0);
        assert_eq!(info.model, "");
    }

    #[test]
    fn a_single_cpu_is_counted() {
        // One block, nothing after it: the last CPU is counted at the end of the file.
        let info = info_from("processor\t: 0\nmodel name\t: Solo\n");
        assert_eq!((info.logical_cores, info.physical_cores), (1, 1));
        assert_eq!(info.model, "Solo");
    }

    #[test]
    fn an_empty_cpuinfo_has_no_cpus() {
        let info = info_from("");
        assert_eq!(info, CpuInfo::default());
    }
}
