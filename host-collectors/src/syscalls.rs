//! The readings that are system calls, not files (statvfs, interface addresses, the clock, the
//! architecture, process owners): one trait, a live implementation and a fixture one that answers
//! from `syscalls.json`, and the records they answer with (`Clock`, `NetAddress`), which the
//! `clock` and `network` collectors hand on.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CollectError;

/// WIT `clock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub unix_nanos: u64,
    /// Local time offset from UTC, seconds.
    pub utc_offset: i32,
    /// Local time zone abbreviation (`UTC`, `CET`).
    pub timezone: String,
}

/// WIT `address-family`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddressFamily {
    #[default]
    Ipv4,
    Ipv6,
}

/// WIT `net-address`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetAddress {
    pub family: AddressFamily,
    pub address: String,
    pub prefix_len: u8,
}

/// What `statvfs(2)` says of one mounted filesystem, in the units it uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FsStat {
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_frsize: u64,
}

/// The system calls the collectors make, so tests can answer them from a file.
pub(crate) trait Syscalls: Send + Sync {
    /// Machine architecture, e.g. `x86_64`.
    fn arch(&self) -> Result<String, CollectError>;
    /// `64bit` or `32bit`.
    fn platform(&self) -> Result<String, CollectError>;
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of /proc CPU times.
    fn ticks_per_second(&self) -> u64;
    /// Memory page size in bytes, the unit of /proc/PID/statm.
    fn page_size(&self) -> u64;
    /// `statvfs` of a mount point; `Ok(None)` when the call fails for that mount (a stale network
    /// mount, a mount point this user may not enter), which only hides that filesystem.
    fn statvfs(&self, mount_point: &Path) -> Result<Option<FsStat>, CollectError>;
    /// Addresses of every interface, by interface name.
    fn addresses(&self) -> Result<HashMap<String, Vec<NetAddress>>, CollectError>;
    /// Now, with the local offset and zone abbreviation.
    fn clock(&self) -> Result<Clock, CollectError>;
    /// Owner (uid, gid) of the process directory `dir` of `pid`.
    fn owner(&self, pid: u32, dir: &Path) -> io::Result<(u32, u32)>;
}

/// This machine, asked directly.
pub(crate) struct LiveSyscalls;

impl LiveSyscalls {
    pub(crate) fn new() -> Self {
        LiveSyscalls
    }
}

fn owner_of(dir: &Path) -> io::Result<(u32, u32)> {
    let meta = std::fs::metadata(dir)?;
    Ok((meta.uid(), meta.gid()))
}

impl Syscalls for LiveSyscalls {
    fn arch(&self) -> Result<String, CollectError> {
        Ok(std::env::consts::ARCH.to_string())
    }

    fn platform(&self) -> Result<String, CollectError> {
        // The width glint itself was built for, as Python's platform.architecture() reports it.
        let bits = if cfg!(target_pointer_width = "64") {
            "64bit"
        } else {
            "32bit"
        };
        Ok(bits.to_string())
    }

    fn ticks_per_second(&self) -> u64 {
        procfs::ticks_per_second()
    }

    fn page_size(&self) -> u64 {
        procfs::page_size()
    }

    fn statvfs(&self, mount_point: &Path) -> Result<Option<FsStat>, CollectError> {
        Ok(rustix::fs::statvfs(mount_point).ok().map(|s| FsStat {
            f_blocks: s.f_blocks,
            f_bfree: s.f_bfree,
            f_bavail: s.f_bavail,
            f_frsize: s.f_frsize,
        }))
    }

    fn addresses(&self) -> Result<HashMap<String, Vec<NetAddress>>, CollectError> {
        // One getifaddrs call, the C library's netlink dump of links and addresses: sysinfo's
        // Networks refresh gave the same addresses but read ~10 statistics files per
        // interface on top, every tick (0.9 ms of a 5 ms tick here); if-addrs also asked for
        // each address's interface index, a socket, an ioctl and a close per address.
        let interfaces = nix::ifaddrs::getifaddrs().map_err(|e| CollectError::Syscall {
            call: "listing network interfaces (getifaddrs)",
            what: e.to_string(),
        })?;
        let mut out: HashMap<String, Vec<NetAddress>> = HashMap::new();
        for interface in interfaces {
            let Some(address) = interface.address.as_ref() else {
                continue;
            };
            let netmask = interface.netmask.as_ref();
            let (family, address, prefix_len) = if let Some(v4) = address.as_sockaddr_in() {
                let bits = netmask
                    .and_then(|m| m.as_sockaddr_in())
                    .map_or(0, |m| u32::from(m.ip()).count_ones());
                (AddressFamily::Ipv4, IpAddr::V4(v4.ip()), bits)
            } else if let Some(v6) = address.as_sockaddr_in6() {
                let bits = netmask
                    .and_then(|m| m.as_sockaddr_in6())
                    .map_or(0, |m| u128::from(m.ip()).count_ones());
                (AddressFamily::Ipv6, IpAddr::V6(v6.ip()), bits)
            } else {
                // The link itself (AF_PACKET), not an address.
                continue;
            };
            out.entry(interface.interface_name)
                .or_default()
                .push(NetAddress {
                    family,
                    address: address.to_string(),
                    // At most 128.
                    prefix_len: prefix_len as u8,
                });
        }
        // IPv4 first, then by address, so the list does not shuffle from tick to tick.
        for addresses in out.values_mut() {
            addresses.sort_by_key(|a| (a.address.parse::<IpAddr>().ok(), a.prefix_len));
        }
        Ok(out)
    }

    fn clock(&self) -> Result<Clock, CollectError> {
        let now = jiff::Timestamp::now();
        let zone = jiff::tz::TimeZone::system();
        let info = zone.to_offset_info(now);
        Ok(Clock {
            // Before 1970 only with a broken clock; 0 then rather than a wrapped value.
            unix_nanos: u64::try_from(now.as_nanosecond()).unwrap_or(0),
            utc_offset: info.offset().seconds(),
            timezone: info.abbreviation().to_string(),
        })
    }

    fn owner(&self, _pid: u32, dir: &Path) -> io::Result<(u32, u32)> {
        owner_of(dir)
    }
}

/// Owner of a process directory, as `syscalls.json` records it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Owner {
    uid: u32,
    gid: u32,
}

/// The content of a fixture's `syscalls.json`; every field may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FixtureFile {
    arch: String,
    platform: String,
    ticks_per_second: Option<u64>,
    page_size: Option<u64>,
    clock: Clock,
    /// By mount point.
    statvfs: HashMap<String, FsStat>,
    /// By interface name.
    addresses: HashMap<String, Vec<NetAddress>>,
    /// By pid. A pid left out falls back to the owner of its fixture directory.
    owners: HashMap<u32, Owner>,
}

/// A recorded machine: answers from `syscalls.json`.
pub(crate) struct FixtureSyscalls {
    path: PathBuf,
    /// The parse error is kept, not raised, so `Source::fixture` stays infallible; every call
    /// that needs the file then reports it.
    data: Result<FixtureFile, String>,
}

/// Clock ticks per second when a fixture does not say: the value of every mainstream Linux.
const DEFAULT_TICKS_PER_SECOND: u64 = 100;
/// Page size when a fixture does not say: x86-64 and most arm64 kernels.
const DEFAULT_PAGE_SIZE: u64 = 4096;

impl FixtureSyscalls {
    /// Reads `path`; a missing file is an empty fixture (every call answers "nothing").
    pub(crate) fn load(path: PathBuf) -> Self {
        let data = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| e.to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FixtureFile::default()),
            Err(e) => Err(e.to_string()),
        };
        FixtureSyscalls { path, data }
    }

    fn data(&self) -> Result<&FixtureFile, CollectError> {
        self.data
            .as_ref()
            .map_err(|what| CollectError::parse(&self.path, what))
    }
}

impl Syscalls for FixtureSyscalls {
    fn arch(&self) -> Result<String, CollectError> {
        Ok(self.data()?.arch.clone())
    }

    fn platform(&self) -> Result<String, CollectError> {
        Ok(self.data()?.platform.clone())
    }

    fn ticks_per_second(&self) -> u64 {
        self.data
            .as_ref()
            .ok()
            .and_then(|d| d.ticks_per_second)
            .unwrap_or(DEFAULT_TICKS_PER_SECOND)
    }

    fn page_size(&self) -> u64 {
        self.data
            .as_ref()
            .ok()
            .and_then(|d| d.page_size)
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    fn statvfs(&self, mount_point: &Path) -> Result<Option<FsStat>, CollectError> {
        let data = self.data()?;
        Ok(mount_point
            .to_str()
            .and_then(|mp| data.statvfs.get(mp))
            .copied())
    }

    fn addresses(&self) -> Result<HashMap<String, Vec<NetAddress>>, CollectError> {
        Ok(self.data()?.addresses.clone())
    }

    fn clock(&self) -> Result<Clock, CollectError> {
        Ok(self.data()?.clock.clone())
    }

    fn owner(&self, pid: u32, dir: &Path) -> io::Result<(u32, u32)> {
        // The directory must exist either way: a pid the fixture lists but does not hold is gone.
        let on_disk = owner_of(dir)?;
        let recorded = self
            .data
            .as_ref()
            .ok()
            .and_then(|d| d.owners.get(&pid))
            .map(|o| (o.uid, o.gid));
        Ok(recorded.unwrap_or(on_disk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_syscalls_file_is_an_empty_machine() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sys = FixtureSyscalls::load(dir.path().join("syscalls.json"));
        assert_eq!(sys.arch().expect("arch"), "");
        assert_eq!(sys.ticks_per_second(), DEFAULT_TICKS_PER_SECOND);
        assert_eq!(sys.page_size(), DEFAULT_PAGE_SIZE);
        assert!(sys.addresses().expect("addresses").is_empty());
        assert_eq!(sys.statvfs(Path::new("/")).expect("statvfs"), None);
        assert_eq!(sys.clock().expect("clock"), Clock::default());
    }

    #[test]
    fn a_broken_syscalls_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("syscalls.json");
        std::fs::write(&path, r#"{"arch": "x86_64", "archh": 1}"#).expect("write");
        let sys = FixtureSyscalls::load(path.clone());
        let err = sys.arch().expect_err("typo accepted").to_string();
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(err.contains("archh"), "{err}");
    }

    #[test]
    fn live_clock_and_arch_answer() {
        let live = LiveSyscalls::new();
        assert_eq!(live.arch().expect("arch"), std::env::consts::ARCH);
        let clock = live.clock().expect("clock");
        // 2020-01-01: any real clock is past it.
        assert!(clock.unix_nanos > 1_577_836_800_000_000_000);
        assert!(!clock.timezone.is_empty());
        assert!(live.ticks_per_second() > 0);
        assert!(live.page_size() >= 4096);
    }
}
