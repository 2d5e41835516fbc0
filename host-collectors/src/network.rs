//! `NetInterface`: per-interface counters (/proc/net/dev), link state (/sys/class/net) and
//! addresses (a system call, whose `NetAddress` record `syscalls` defines).

use procfs::FromBufRead;
use procfs::net::InterfaceDeviceStatus;
use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::read_optional;
use crate::source::Source;
use crate::syscalls::NetAddress;

/// WIT `net-interface`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetInterface {
    pub name: String,
    pub bytes_recv: u64,
    pub bytes_sent: u64,
    pub packets_recv: u64,
    pub packets_sent: u64,
    pub errors_in: u64,
    pub errors_out: u64,
    pub drops_in: u64,
    pub drops_out: u64,
    pub is_up: bool,
    /// Link speed in Mbit/s, 0 when unknown.
    pub speed_mbps: u64,
    pub mtu: u32,
    pub addresses: Vec<NetAddress>,
}

/// `IFF_UP` of `<linux/if.h>`: the interface is administratively up.
const IFF_UP: u64 = 0x1;

/// Interfaces sorted by name.
pub fn network(src: &Source) -> Result<Vec<NetInterface>, CollectError> {
    let path = src.proc_path("net/dev");
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let devices = InterfaceDeviceStatus::from_buf_read(text.as_bytes())
        .map_err(|e| CollectError::procfs(&path, e))?;
    let mut addresses = src.syscalls.addresses()?;
    let mut out: Vec<NetInterface> = devices
        .0
        .into_values()
        .map(|dev| {
            let link = Link::read(src, &dev.name);
            NetInterface {
                addresses: addresses.remove(&dev.name).unwrap_or_default(),
                bytes_recv: dev.recv_bytes,
                bytes_sent: dev.sent_bytes,
                packets_recv: dev.recv_packets,
                packets_sent: dev.sent_packets,
                errors_in: dev.recv_errs,
                errors_out: dev.sent_errs,
                drops_in: dev.recv_drop,
                drops_out: dev.sent_drop,
                is_up: link.is_up(),
                speed_mbps: link.speed_mbps,
                mtu: link.mtu,
                name: dev.name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// What /sys/class/net/IF says of the link.
#[derive(Debug, Default, PartialEq)]
struct Link {
    flags: u64,
    speed_mbps: u64,
    mtu: u32,
}

impl Link {
    /// Every attribute is best effort: the kernel answers `EINVAL` to `speed` of a link that is
    /// down or virtual, and an interface can vanish between /proc/net/dev and here. A missing
    /// attribute is "unknown", which the record spells 0.
    fn read(src: &Source, name: &str) -> Link {
        let dir = src.sys_path("class/net").join(name);
        let attr = |file: &str| {
            read_optional(&dir.join(file))
                .ok()
                .flatten()
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        Link::parse(&attr("flags"), &attr("speed"), &attr("mtu"))
    }

    fn parse(flags: &str, speed: &str, mtu: &str) -> Link {
        Link {
            flags: u64::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0),
            // -1 (SPEED_UNKNOWN) for virtual links.
            speed_mbps: speed
                .parse::<i64>()
                .ok()
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0),
            mtu: mtu.parse().unwrap_or(0),
        }
    }

    /// Administratively up (`IFF_UP`), as psutil's `isup`. An `operstate` of `up` implies it,
    /// and `lo` and tunnels, which report `unknown`, have it: the one attribute says both.
    fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_attributes() {
        let eth = Link::parse("0x1003", "-1", "1400");
        assert!(eth.is_up());
        assert_eq!((eth.speed_mbps, eth.mtu), (0, 1400));
        let lo = Link::parse("0x9", "", "65536");
        assert!(lo.is_up());
        let ifb = Link::parse("0x82", "", "1500");
        assert!(!ifb.is_up());
        let fast = Link::parse("0x1003", "10000", "9000");
        assert_eq!(fast.speed_mbps, 10000);
        let junk = Link::parse("zz", "fast", "big");
        assert_eq!(junk, Link::default());
        assert!(!junk.is_up());
    }
}
