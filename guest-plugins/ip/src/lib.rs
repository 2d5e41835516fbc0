//! ip: the machine's main IPv4 address and mask, and every address of its up interfaces
//! (Glances' `ip` plugin, without the gateway and the public address: glint reads no routing
//! table and never calls out to the Internet).

use std::net::{IpAddr, Ipv4Addr};

use glint_sdk::prelude::*;
use glint_sdk::readings::{AddressFamily, NetInterface};

#[derive(Default)]
struct Ip;

/// The dotted-quad netmask of an IPv4 prefix length (`24` → `255.255.255.0`); lengths over
/// 32 count as 32.
fn mask_from_prefix(prefix: u8) -> String {
    let bits = u32::from(prefix.min(32));
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Ipv4Addr::from(mask).to_string()
}

/// A loopback address (`127.0.0.0/8`, `::1`); text that is not an address is not one.
fn is_loopback(address: &str) -> bool {
    // An IPv6 link-local address may carry a zone (`fe80::1%eth0`).
    let bare = address.split('%').next().unwrap_or(address);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The row of the plugin from the interfaces the host read.
fn ip_row(interfaces: &[NetInterface]) -> Row {
    let up = || interfaces.iter().filter(|i| i.is_up);
    let main = up().find_map(|i| {
        i.addresses
            .iter()
            .find(|a| a.family == AddressFamily::Ipv4 && !is_loopback(&a.address))
            .map(|a| (i.name.as_str(), a))
    });
    let addresses: Vec<String> = up()
        .flat_map(|i| {
            i.addresses
                .iter()
                .filter(|a| !is_loopback(&a.address))
                .map(move |a| format!("{} {}/{}", i.name, a.address, a.prefix_len))
        })
        .collect();
    Row::new()
        .set("address", main.map(|(_, a)| a.address.as_str()))
        .set("mask", main.map(|(_, a)| mask_from_prefix(a.prefix_len)))
        .set(
            "mask_cidr",
            main.map(|(_, a)| u64::from(a.prefix_len.min(32))),
        )
        .set("gateway", Value::None)
        .set("public_address", Value::None)
        .set("interface", main.map(|(name, _)| name))
        .set("addresses", addresses)
}

impl InputPlugin for Ip {
    fn info() -> PluginInfo {
        let text = |name: &str, desc: &str| field(name, Unit::Text, desc);
        plugin("ip", "IP addresses", Layout::Record)
            .field(text(
                "address",
                "First IPv4 address of an up, non-loopback interface.",
            ))
            .field(text("mask", "Its netmask, dotted quad."))
            .field(field(
                "mask_cidr",
                Unit::Number,
                "Its netmask, prefix length.",
            ))
            .field(text("gateway", "Default gateway (not read by glint)."))
            .field(text(
                "public_address",
                "Public address (glint never asks the Internet).",
            ))
            .field(text("interface", "The interface that has `address`."))
            .field(text(
                "addresses",
                "Every non-loopback address of every up interface.",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        Ok(ip_row(&readings::get_network()).into_table())
    }
}

glint_sdk::export_input!(Ip);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::readings::NetAddress;

    #[test]
    fn masks_from_prefixes() {
        assert_eq!(mask_from_prefix(0), "0.0.0.0");
        assert_eq!(mask_from_prefix(8), "255.0.0.0");
        assert_eq!(mask_from_prefix(20), "255.255.240.0");
        assert_eq!(mask_from_prefix(24), "255.255.255.0");
        assert_eq!(mask_from_prefix(32), "255.255.255.255");
        assert_eq!(mask_from_prefix(64), "255.255.255.255");
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.1.2.3"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("fe80::1%eth0"));
        assert!(!is_loopback("not an address"));
    }

    fn addr(family: AddressFamily, address: &str, prefix_len: u8) -> NetAddress {
        NetAddress {
            family,
            address: address.to_string(),
            prefix_len,
        }
    }

    fn iface(name: &str, is_up: bool, addresses: Vec<NetAddress>) -> NetInterface {
        NetInterface {
            name: name.to_string(),
            bytes_recv: 0,
            bytes_sent: 0,
            packets_recv: 0,
            packets_sent: 0,
            errors_in: 0,
            errors_out: 0,
            drops_in: 0,
            drops_out: 0,
            is_up,
            speed_mbps: 0,
            mtu: 1500,
            addresses,
        }
    }

    fn text(row: &Row, column: &str) -> Option<String> {
        row.get(column).and_then(Value::as_str).map(str::to_string)
    }

    /// `Value` has no `PartialEq` (wit-bindgen does not derive it).
    fn is_none(row: &Row, column: &str) -> bool {
        matches!(row.get(column), Some(Value::None))
    }

    fn text_list(row: &Row, column: &str) -> Option<Vec<String>> {
        match row.get(column) {
            Some(Value::TextList(list)) => Some(list.clone()),
            _ => None,
        }
    }

    #[test]
    fn main_address_is_the_first_ipv4_of_an_up_non_loopback_interface() {
        use AddressFamily::{Ipv4, Ipv6};
        let interfaces = vec![
            iface(
                "lo",
                true,
                vec![addr(Ipv4, "127.0.0.1", 8), addr(Ipv6, "::1", 128)],
            ),
            iface("eth1", false, vec![addr(Ipv4, "192.168.9.9", 24)]),
            iface("wg0", true, vec![addr(Ipv6, "fd00::2", 64)]),
            iface(
                "eth0",
                true,
                vec![addr(Ipv6, "fe80::1", 64), addr(Ipv4, "10.1.2.3", 20)],
            ),
        ];
        let row = ip_row(&interfaces);
        assert_eq!(text(&row, "address").as_deref(), Some("10.1.2.3"));
        assert_eq!(text(&row, "mask").as_deref(), Some("255.255.240.0"));
        assert_eq!(row.get("mask_cidr").and_then(Value::as_f64), Some(20.0));
        assert_eq!(text(&row, "interface").as_deref(), Some("eth0"));
        assert!(is_none(&row, "gateway"));
        assert!(is_none(&row, "public_address"));
        let expected: Vec<String> = ["wg0 fd00::2/64", "eth0 fe80::1/64", "eth0 10.1.2.3/20"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(text_list(&row, "addresses"), Some(expected));
    }

    #[test]
    fn no_address_gives_none_and_an_empty_list() {
        let interfaces = vec![iface(
            "lo",
            true,
            vec![addr(AddressFamily::Ipv4, "127.0.0.1", 8)],
        )];
        let row = ip_row(&interfaces);
        for column in ["address", "mask", "mask_cidr", "interface"] {
            assert!(is_none(&row, column), "{column}");
        }
        assert_eq!(text_list(&row, "addresses"), Some(Vec::new()));
    }
}
