//! `AllReadings` / `collect_all`: every reading at once, the native baseline benchmarks compare
//! the plugin path against.

use std::path::PathBuf;

use crate::{
    Clock, CollectError, CpuInfo, CpuStats, DiskIo, Filesystem, Folder, Irq, Load, Memory,
    NetInterface, Process, ProcessTotals, RaidArray, Sensor, Source, Swap, SystemInfo, Uptime,
    Wifi,
};

/// Every reading, each with its own outcome: one failing reading does not hide the others.
#[derive(Debug)]
pub struct AllReadings {
    pub system_info: Result<SystemInfo, CollectError>,
    pub cpu_info: Result<CpuInfo, CollectError>,
    pub cpu_stats: Result<CpuStats, CollectError>,
    pub memory: Result<Memory, CollectError>,
    pub swap: Result<Swap, CollectError>,
    pub load: Result<Load, CollectError>,
    pub uptime: Result<Uptime, CollectError>,
    pub network: Result<Vec<NetInterface>, CollectError>,
    pub disk_io: Result<Vec<DiskIo>, CollectError>,
    pub filesystems: Result<Vec<Filesystem>, CollectError>,
    pub sensors: Result<Vec<Sensor>, CollectError>,
    pub processes: Result<Vec<Process>, CollectError>,
    pub process_totals: Result<ProcessTotals, CollectError>,
    pub irqs: Result<Vec<Irq>, CollectError>,
    pub raid: Result<Vec<RaidArray>, CollectError>,
    pub wifi: Result<Vec<Wifi>, CollectError>,
    pub folders: Vec<Folder>,
    pub clock: Result<Clock, CollectError>,
}

/// Takes every reading once, one after the other, on this thread.
pub fn collect_all(src: &Source, folders: &[PathBuf]) -> AllReadings {
    let processes = crate::processes(src);
    let process_totals = crate::process_totals(src, processes.as_deref().unwrap_or_default());
    AllReadings {
        system_info: crate::system_info(src),
        cpu_info: crate::cpu_info(src),
        cpu_stats: crate::cpu_stats(src),
        memory: crate::memory(src),
        swap: crate::swap(src),
        load: crate::load(src),
        uptime: crate::uptime(src),
        network: crate::network(src),
        disk_io: crate::disk_io(src),
        filesystems: crate::filesystems(src),
        sensors: crate::sensors(src),
        processes,
        process_totals,
        irqs: crate::irqs(src),
        raid: crate::raid(src),
        wifi: crate::wifi(src),
        folders: crate::folders(src, folders),
        clock: crate::clock(src),
    }
}
