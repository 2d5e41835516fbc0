//! `CpuInfo`: model, core counts and frequencies, from /proc/cpuinfo and cpufreq.

use std::collections::HashSet;

use procfs::FromBufRead;
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::source::{Source, read_number, read_optional};

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
    let max_path = src.sys_path("devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    let freq_max_mhz = read_number::<u64>(&max_path)?.map_or(0.0, |khz| khz as f64 / 1000.0);

    let path = src.proc_path("cpuinfo");
    let Some(text) = read_optional(&path)? else {
        return Ok(CpuInfo {
            freq_max_mhz,
            ..CpuInfo::default()
        });
    };
    let info = procfs::CpuInfo::from_buf_read(text.as_bytes())
        .map_err(|e| CollectError::procfs(&path, e))?;

    // procfs yields one (empty) block for a file without any `processor` line: not a CPU.
    let cpus: Vec<usize> = (0..info.num_cores())
        .filter(|&i| info.get_field(i, "processor").is_some())
        .collect();
    let model = cpus
        .first()
        .and_then(|&i| MODEL_KEYS.iter().find_map(|key| info.get_field(i, key)))
        .unwrap_or_default()
        .to_string();

    let mut cores = HashSet::new();
    let mut mhz_sum = 0.0;
    let mut mhz_count = 0u32;
    for &i in &cpus {
        let id = |key| info.get_field(i, key).and_then(|v| v.parse::<u32>().ok());
        if let (Some(package), Some(core)) = (id("physical id"), id("core id")) {
            cores.insert((package, core));
        }
        if let Some(mhz) = info
            .get_field(i, "cpu MHz")
            .and_then(|v| v.parse::<f64>().ok())
        {
            mhz_sum += mhz;
            mhz_count += 1;
        }
    }
    let logical_cores = u32::try_from(cpus.len()).unwrap_or(u32::MAX);
    // Without topology lines (ARM, most VMs without SMP info) one core per logical CPU is the
    // only count we can stand behind.
    let physical_cores = match u32::try_from(cores.len()).unwrap_or(u32::MAX) {
        0 => logical_cores,
        n => n,
    };
    Ok(CpuInfo {
        model,
        physical_cores,
        logical_cores,
        freq_current_mhz: if mhz_count == 0 {
            0.0
        } else {
            mhz_sum / f64::from(mhz_count)
        },
        freq_max_mhz,
    })
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
        // With one CPU procfs files every field as "common to all CPUs".
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
