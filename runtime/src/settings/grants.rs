//! The network destinations and other capabilities an operator grants a plugin, as written
//! in the config (`[plugins.NAME.grant]`) and parsed here; the sandbox enforces them.

use std::net::IpAddr;

use serde::Deserialize;

/// How a destination may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `host:port`: TCP or UDP.
    Any,
    Tcp,
    Udp,
    /// An `http(s)://` URL: for `wasi:http`; its host and port are also reachable by TCP.
    Http,
}

/// A network destination a plugin may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub protocol: Protocol,
    /// An IP address or a host name, checked on each connect against what it resolves to.
    pub host: String,
    pub port: u16,
    /// How it was written (the grant must match it).
    pub spec: String,
}

impl Destination {
    /// `host:port`, `tcp://host:port`, `udp://host:port`, `http://host[:port][/path]` or
    /// `https://...`; IPv6 hosts in brackets (`[::1]:8086`).
    pub fn parse(spec: &str) -> Result<Destination, String> {
        let bad = |why: &str| {
            Err(format!(
                "destination {spec:?} {why}; write host:port, tcp://host:port, udp://host:port or an http(s):// URL"
            ))
        };
        let (protocol, rest, default_port) = if let Some(r) = spec.strip_prefix("tcp://") {
            (Protocol::Tcp, r, None)
        } else if let Some(r) = spec.strip_prefix("udp://") {
            (Protocol::Udp, r, None)
        } else if let Some(r) = spec.strip_prefix("http://") {
            (Protocol::Http, r, Some(80))
        } else if let Some(r) = spec.strip_prefix("https://") {
            (Protocol::Http, r, Some(443))
        } else if spec.contains("://") {
            return bad("has an unknown scheme");
        } else {
            (Protocol::Any, spec, None)
        };
        let authority = match protocol {
            Protocol::Http => rest.split(['/', '?']).next().unwrap_or(rest),
            _ => rest,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((host, after)) = v6.split_once(']') else {
                return bad("has an unclosed '['");
            };
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match (port, default_port) {
            (Some(p), _) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return bad("has a bad port"),
            },
            (None, Some(p)) => p,
            (None, None) => return bad("has no port"),
        };
        let valid_host = !host.is_empty()
            && (host.parse::<IpAddr>().is_ok()
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        if !valid_host {
            return bad("has no valid host");
        }
        Ok(Destination {
            protocol,
            // A fully qualified `name.` is the same host as `name`.
            host: host.trim_end_matches('.').to_string(),
            port,
            spec: spec.to_string(),
        })
    }
}

/// The operator's grants for one plugin: `[plugins.NAME.grant]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantSettings {
    pub network: Option<Vec<String>>,
    pub directory: Option<String>,
    pub env: Option<Vec<String>>,
    pub process_cmdlines: Option<bool>,
    pub process_users: Option<bool>,
}
