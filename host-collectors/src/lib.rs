//! Native readings of a Linux machine for glint: /proc, /sys, /etc and a few system calls, as
//! plain Rust records that mirror the WIT `readings` interface field for field.
//!
//! Everything is read through a [`Source`]: [`Source::live`] for this machine, or
//! [`Source::fixture`] for a recorded tree, so every reading can be tested with exact values.
//! A reading the machine lacks (no RAID, no battery, no wireless) comes back empty, never as an
//! error; [`CollectError`] is for files that exist but cannot be read or parsed.
//!
//! This crate knows nothing of WebAssembly: the runtime maps these records onto the WIT ones.

mod all_readings;
mod clock;
mod cpu_info;
mod cpu_stats;
mod disk_io;
mod error;
mod filesystems;
mod folders;
mod irqs;
mod load;
mod memory;
mod network;
mod processes;
mod raid;
mod sensors;
mod source;
mod swap;
mod syscalls;
mod system_info;
mod uptime;
mod users;
mod wifi;

pub use all_readings::{AllReadings, collect_all};
pub use clock::{Clock, clock};
pub use cpu_info::{CpuInfo, cpu_info};
pub use cpu_stats::{CpuStats, CpuTimes, cpu_stats};
pub use disk_io::{DiskIo, disk_io};
pub use error::CollectError;
pub use filesystems::{Filesystem, filesystems};
pub use folders::{Folder, folders};
pub use irqs::{Irq, irqs};
pub use load::{Load, load};
pub use memory::{Memory, memory};
pub use network::{AddressFamily, NetAddress, NetInterface, network};
pub use processes::{Process, ProcessTotals, process_totals, processes};
pub use raid::{RaidArray, raid};
pub use sensors::{Sensor, SensorKind, sensors};
pub use source::Source;
pub use swap::{Swap, swap};
pub use system_info::{SystemInfo, system_info};
pub use uptime::{Uptime, uptime};
pub use wifi::{Wifi, wifi};
