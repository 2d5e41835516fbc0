//! One tick's readings of the machine: each collected at most once, and only when a plugin
//! asks for it; and the conversion of host-collectors' records into the WIT records.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use host_collectors::{self as hc, CollectError, Source};

use crate::bindings::wit_readings as wr;

/// Converts a host-collectors value into its WIT twin.
trait IntoWit<T> {
    fn into_wit(self) -> T;
}

macro_rules! identity {
    ($($t:ty),*) => { $(impl IntoWit<$t> for $t { fn into_wit(self) -> $t { self } })* };
}
identity!(u8, u32, u64, i32, f64, bool, String);

impl<A: IntoWit<B>, B> IntoWit<Vec<B>> for Vec<A> {
    fn into_wit(self) -> Vec<B> {
        self.into_iter().map(IntoWit::into_wit).collect()
    }
}

impl<A: IntoWit<B>, B> IntoWit<Option<B>> for Option<A> {
    fn into_wit(self) -> Option<B> {
        self.map(IntoWit::into_wit)
    }
}

/// Records whose fields match one for one.
macro_rules! records {
    ($($name:ident { $($field:ident),* $(,)? })*) => {$(
        impl IntoWit<wr::$name> for hc::$name {
            fn into_wit(self) -> wr::$name {
                wr::$name { $($field: self.$field.into_wit()),* }
            }
        }
    )*};
}

records! {
    SystemInfo { hostname, os_name, os_version, distro, arch, platform }
    CpuInfo { model, physical_cores, logical_cores, freq_current_mhz, freq_max_mhz }
    CpuTimes { user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice }
    CpuStats { total, per_cpu, ctx_switches, interrupts, soft_interrupts, syscalls }
    Memory { total, available, used, free, active, inactive, buffers, cached, shared }
    Swap { total, used, free, sin, sout }
    Load { min1, min5, min15 }
    Uptime { seconds, boot_time }
    NetAddress { family, address, prefix_len }
    NetInterface {
        name, bytes_recv, bytes_sent, packets_recv, packets_sent, errors_in, errors_out,
        drops_in, drops_out, is_up, speed_mbps, mtu, addresses
    }
    DiskIo {
        name, read_count, write_count, read_merged, write_merged, read_bytes, write_bytes,
        read_time, write_time, busy_time
    }
    Filesystem { device, mount_point, fs_type, options, size, used, free }
    Sensor { chip, label, kind, value, warning, critical }
    Process {
        pid, ppid, name, cmdline, username, status, nice, num_threads, cpu_user, cpu_system,
        cpu_children_user, cpu_children_system, cpu_iowait, memory_rss, memory_vms,
        memory_shared, memory_text, memory_data, io_read_bytes, io_write_bytes, create_time,
        uid, gid, cpu_num
    }
    ProcessTotals {
        pid_max, total, running, sleeping, idle, disk_sleep, zombie, stopped, threads
    }
    Irq { name, description, count }
    RaidArray { name, status, level, components, used, available, config }
    Wifi { name, quality_link, quality_level, noise }
    Folder { path, size, errno }
    Clock { unix_nanos, utc_offset, timezone }
}

impl IntoWit<wr::AddressFamily> for hc::AddressFamily {
    fn into_wit(self) -> wr::AddressFamily {
        match self {
            hc::AddressFamily::Ipv4 => wr::AddressFamily::Ipv4,
            hc::AddressFamily::Ipv6 => wr::AddressFamily::Ipv6,
        }
    }
}

impl IntoWit<wr::SensorKind> for hc::SensorKind {
    fn into_wit(self) -> wr::SensorKind {
        match self {
            hc::SensorKind::Temperature => wr::SensorKind::Temperature,
            hc::SensorKind::Fan => wr::SensorKind::Fan,
            hc::SensorKind::Battery => wr::SensorKind::Battery,
        }
    }
}

/// The readings of one tick. Plugins of the same tick share it: the first plugin that asks
/// for a reading collects it, the others (even concurrent ones) get the same value.
pub struct TickReadings {
    source: Arc<Source>,
    folder_paths: Arc<[PathBuf]>,
    system_info: OnceLock<wr::SystemInfo>,
    cpu_info: OnceLock<wr::CpuInfo>,
    cpu_stats: OnceLock<wr::CpuStats>,
    memory: OnceLock<wr::Memory>,
    swap: OnceLock<wr::Swap>,
    load: OnceLock<wr::Load>,
    uptime: OnceLock<wr::Uptime>,
    network: OnceLock<Vec<wr::NetInterface>>,
    disk_io: OnceLock<Vec<wr::DiskIo>>,
    filesystems: OnceLock<Vec<wr::Filesystem>>,
    sensors: OnceLock<Vec<wr::Sensor>>,
    /// Kept as collected: the totals are counted from it without a copy.
    processes: OnceLock<Vec<hc::Process>>,
    process_totals: OnceLock<wr::ProcessTotals>,
    irqs: OnceLock<Vec<wr::Irq>>,
    raid: OnceLock<Vec<wr::RaidArray>>,
    wifi: OnceLock<Vec<wr::Wifi>>,
    folders: OnceLock<Vec<wr::Folder>>,
    clock: OnceLock<wr::Clock>,
}

/// Readings whose collection failed once: each is logged once, not every tick.
static WARNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The value of a reading, or (logged once) the empty value when it could not be read.
fn or_empty<T: Default>(what: &'static str, result: Result<T, CollectError>) -> T {
    result.unwrap_or_else(|e| {
        let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
        if !warned.contains(&what) {
            warned.push(what);
            tracing::warn!("reading {what} failed, plugins get it empty: {e}");
        }
        T::default()
    })
}

macro_rules! getters {
    ($($name:ident: $t:ty = $collect:expr;)*) => {
        impl TickReadings {
            $(
                pub fn $name(&self) -> $t {
                    self.$name
                        .get_or_init(|| {
                            let collect = $collect;
                            or_empty(stringify!($name), collect(self)).into_wit()
                        })
                        .clone()
                }
            )*

            /// The readings collected so far this tick (the others cost nothing).
            pub fn collected(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $( if self.$name.get().is_some() { names.push(stringify!($name)); } )*
                if self.processes.get().is_some() {
                    names.push("processes");
                }
                names
            }
        }
    };
}

getters! {
    system_info: wr::SystemInfo = |r: &Self| hc::system_info(&r.source);
    cpu_info: wr::CpuInfo = |r: &Self| hc::cpu_info(&r.source);
    cpu_stats: wr::CpuStats = |r: &Self| hc::cpu_stats(&r.source);
    memory: wr::Memory = |r: &Self| hc::memory(&r.source);
    swap: wr::Swap = |r: &Self| hc::swap(&r.source);
    load: wr::Load = |r: &Self| hc::load(&r.source);
    uptime: wr::Uptime = |r: &Self| hc::uptime(&r.source);
    network: Vec<wr::NetInterface> = |r: &Self| hc::network(&r.source);
    disk_io: Vec<wr::DiskIo> = |r: &Self| hc::disk_io(&r.source);
    filesystems: Vec<wr::Filesystem> = |r: &Self| hc::filesystems(&r.source);
    sensors: Vec<wr::Sensor> = |r: &Self| hc::sensors(&r.source);
    process_totals: wr::ProcessTotals =
        |r: &Self| hc::process_totals(&r.source, r.native_processes());
    irqs: Vec<wr::Irq> = |r: &Self| hc::irqs(&r.source);
    raid: Vec<wr::RaidArray> = |r: &Self| hc::raid(&r.source);
    wifi: Vec<wr::Wifi> = |r: &Self| hc::wifi(&r.source);
    folders: Vec<wr::Folder> =
        |r: &Self| Ok::<_, CollectError>(hc::folders(&r.source, &r.folder_paths));
    clock: wr::Clock = |r: &Self| hc::clock(&r.source);
}

impl TickReadings {
    fn native_processes(&self) -> &[hc::Process] {
        self.processes
            .get_or_init(|| or_empty("processes", hc::processes(&self.source)))
    }

    pub fn processes(&self) -> Vec<wr::Process> {
        self.native_processes()
            .iter()
            .cloned()
            .map(IntoWit::into_wit)
            .collect()
    }

    pub fn new(source: Arc<Source>, folder_paths: Arc<[PathBuf]>) -> TickReadings {
        TickReadings {
            source,
            folder_paths,
            system_info: OnceLock::new(),
            cpu_info: OnceLock::new(),
            cpu_stats: OnceLock::new(),
            memory: OnceLock::new(),
            swap: OnceLock::new(),
            load: OnceLock::new(),
            uptime: OnceLock::new(),
            network: OnceLock::new(),
            disk_io: OnceLock::new(),
            filesystems: OnceLock::new(),
            sensors: OnceLock::new(),
            processes: OnceLock::new(),
            process_totals: OnceLock::new(),
            irqs: OnceLock::new(),
            raid: OnceLock::new(),
            wifi: OnceLock::new(),
            folders: OnceLock::new(),
            clock: OnceLock::new(),
        }
    }
}
