//! test-net: a test guest (not a default plugin) that tries to reach network addresses it was
//! not granted, and reaches the ones it was, for the network sandbox test.
//!
//! Every setting is optional (an unset one skips its attempt) and is `IP:PORT` text, except
//! `tcp_granted` and `lookup_denied`, which name a host (`localhost:1234`).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use glint_sdk::prelude::*;
use glint_test_attack::{Report, report_fields};

/// Longest wait for one connect, read or write. Several attempts run in one update, which the
/// host stops after 500 ms; a refused attempt fails at once, this only bounds a silent one.
const TIMEOUT: Duration = Duration::from_millis(100);

/// What the UDP attempts send.
const DATAGRAM: &[u8] = b"glint-test";

/// What the HTTP attempt sends once connected.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

#[derive(Default)]
struct Net;

impl InputPlugin for Net {
    fn info() -> PluginInfo {
        let info = plugin(
            "test-net",
            "Test guest: tries to reach addresses it was not granted (network sandbox test)",
            Layout::Record,
        );
        report_fields(
            info,
            "True if any forbidden attempt succeeded.",
            "True if every granted attempt (`tcp_granted`, `udp_granted`) succeeded.",
            "attempt",
        )
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let entries = glint_sdk::config();
        let mut report = Report::new();
        if let Some(target) = report.text_setting(&entries, "lookup_denied") {
            report.forbidden(&format!("lookup {target}"), lookup(&target));
        }
        if let Some(addr) = report.addr_setting(&entries, "tcp_denied") {
            report.forbidden(&format!("tcp {addr}"), tcp_connect(addr));
        }
        if let Some(addr) = report.addr_setting(&entries, "udp_denied") {
            report.forbidden(&format!("udp send_to {addr}"), udp_send_to(addr));
            report.forbidden(&format!("udp connect+send {addr}"), udp_connect_send(addr));
        }
        if let Some(addr) = report.addr_setting(&entries, "http_denied") {
            report.forbidden(&format!("http {addr}"), http_get(addr));
        }
        if let Some(addr) = report.addr_setting(&entries, "repointed") {
            report.forbidden(&format!("tcp {addr} (repointed)"), tcp_connect(addr));
        }
        if let Some(target) = report.text_setting(&entries, "tcp_granted") {
            report.control(&format!("tcp {target}"), tcp_connect_host(&target));
        }
        if let Some(addr) = report.addr_setting(&entries, "udp_granted") {
            report.control(&format!("udp send_to {addr}"), udp_send_to(addr));
        }
        Ok(report.into_table())
    }
}

/// A name lookup (`host:port`): its addresses, when it resolves at all.
fn lookup(target: &str) -> Result<String, String> {
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .collect();
    if addrs.is_empty() {
        return Err("resolved to no address".to_string());
    }
    Ok(format!("resolved to {addrs:?}"))
}

/// A connection that is really up: std's `connect_timeout` on wasip2 can report success for
/// a connect the host refused, so the peer's address (which only a connected socket has) is
/// the proof.
fn connect(addr: &SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(addr, TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .peer_addr()
        .map_err(|e| format!("not connected: {e}"))?;
    Ok(stream)
}

fn tcp_connect(addr: SocketAddr) -> Result<String, String> {
    connect(&addr).map(|_| "connected".to_string())
}

/// Resolves `target` and connects to each address it resolves to until one answers.
fn tcp_connect_host(target: &str) -> Result<String, String> {
    let addrs = target
        .to_socket_addrs()
        .map_err(|e| format!("resolve: {e}"))?;
    let mut last_error = "resolved to no address".to_string();
    for addr in addrs {
        match connect(&addr) {
            Ok(_) => return Ok(format!("connected to {addr}")),
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    Err(last_error)
}

/// Connecting is the escape; the request and response only add detail.
fn http_get(addr: SocketAddr) -> Result<String, String> {
    let mut stream = connect(&addr)?;
    Ok(format!("connected, {}", exchange(&mut stream)))
}

fn exchange(stream: &mut TcpStream) -> String {
    // Without timeouts a silent server would hold the update past the host's deadline.
    if let Err(e) = stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
    {
        return format!("request not sent: no timeouts ({e})");
    }
    if let Err(e) = stream.write_all(HTTP_REQUEST) {
        return format!("request failed ({e})");
    }
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(n) => format!("{n} response bytes"),
        Err(e) => format!("no response ({e})"),
    }
}

/// A UDP socket on an ephemeral port of the target's address family.
fn udp_bind(target: SocketAddr) -> Result<UdpSocket, String> {
    let any = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).map_err(|e| format!("bind: {e}"))?;
    // Best effort: a send does not block in practice, so a socket without one is still tried.
    let _ = socket.set_write_timeout(Some(TIMEOUT));
    Ok(socket)
}

fn udp_send_to(addr: SocketAddr) -> Result<String, String> {
    let socket = udp_bind(addr)?;
    socket
        .send_to(DATAGRAM, addr)
        .map(|n| format!("{n} bytes sent"))
        .map_err(|e| e.to_string())
}

fn udp_connect_send(addr: SocketAddr) -> Result<String, String> {
    let socket = udp_bind(addr)?;
    socket.connect(addr).map_err(|e| format!("connect: {e}"))?;
    socket
        .send(DATAGRAM)
        .map(|n| format!("{n} bytes sent"))
        .map_err(|e| e.to_string())
}

glint_sdk::export_input!(Net);
