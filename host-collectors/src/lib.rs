//! Native readings of a Linux machine for glint: /proc, /sys, /etc and a few system calls, as
//! plain Rust records that mirror the WIT `readings` interface field for field.
//!
//! Everything is read through a [`Source`]: [`Source::live`] for this machine, or
//! [`Source::fixture`] for a recorded tree, so every reading can be tested with exact values.
//! A reading the machine lacks (no RAID, no battery, no wireless) comes back empty, never as an
//! error; [`CollectError`] is for files that exist but cannot be read or parsed.
//!
//! This crate knows nothing of WebAssembly: the runtime maps these records onto the WIT ones.

// Lowest layer first; a module uses only modules of its own layer or lower (ARCHITECTURE.md).
// Layer 0: what went wrong.
mod error;
// Layer 1: how the machine is read.
mod files;
mod pid_files;
mod syscalls;
// Layer 2: the caches a `Source` holds.
mod process_state;
mod users;
// Layer 3: the machine to read.
mod source;
// Layer 4: the collectors, one reading each.
mod clock;
mod cpu_info;
mod cpu_stats;
mod disk_io;
mod filesystems;
mod folders;
mod irqs;
mod load;
mod memory;
mod network;
mod process_totals;
mod processes;
mod raid;
mod sensors;
mod swap;
mod system_info;
mod uptime;
mod wifi;
// Layer 5: every reading at once.
mod all_readings;

pub use all_readings::{AllReadings, collect_all};
pub use clock::clock;
pub use cpu_info::{CpuInfo, cpu_info};
pub use cpu_stats::{CpuStats, CpuTimes, cpu_stats};
pub use disk_io::{DiskIo, disk_io};
pub use error::CollectError;
pub use filesystems::{Filesystem, filesystems};
pub use folders::{Folder, folders};
pub use irqs::{Irq, irqs};
pub use load::{Load, load};
pub use memory::{Memory, memory};
pub use network::{NetInterface, network};
pub use process_state::Process;
pub use process_totals::{ProcessTotals, process_totals};
pub use processes::processes;
pub use raid::{RaidArray, raid};
pub use sensors::{Sensor, SensorKind, sensors};
pub use source::Source;
pub use swap::{Swap, swap};
pub use syscalls::{AddressFamily, Clock, NetAddress};
pub use system_info::{SystemInfo, system_info};
pub use uptime::{Uptime, uptime};
pub use wifi::{Wifi, wifi};
