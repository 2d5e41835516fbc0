//! test-stall: a test guest (not a default plugin) whose update() blocks in a host call that
//! never returns on its own, for the test that a guest blocked in host code is interrupted at
//! its deadline like a guest that loops.
//!
//! Settings: `stall`, what it blocks in: `"read"` (a read from `target` that never sends),
//! `"write"` (writes to `target` that never reads, until the buffers are full) or `"sleep"`
//! (an hour's sleep); `target`, `IP:PORT` of a granted listener, for read and write.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use glint_sdk::prelude::*;

/// Longer than any deadline a test sets: only an interrupt ends it.
const SLEEP: Duration = Duration::from_secs(3600);

/// One write's size: big enough to fill a loopback socket's buffers in a few calls.
const CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct Stall;

impl InputPlugin for Stall {
    fn info() -> PluginInfo {
        plugin(
            "test-stall",
            "Test guest: update() blocks in a socket read, write or sleep (deadline test)",
            Layout::Record,
        )
        .field(field(
            "done",
            Unit::None,
            "What ended the wait, if update() ever returns.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let entries = glint_sdk::config();
        let text = |key: &str| match glint_sdk::config_value(&entries, key) {
            Some(ConfigValue::Text(t)) => Ok(t),
            _ => Err(format!("setting `{key}` must be set, as text")),
        };
        let done = match text("stall")?.as_str() {
            "sleep" => {
                std::thread::sleep(SLEEP);
                "slept".to_string()
            }
            "read" => read(connect(&text("target")?)?),
            "write" => write(connect(&text("target")?)?),
            other => {
                return Err(format!(
                    "`stall` must be read, write or sleep, not {other:?}"
                ));
            }
        };
        Ok(Row::new().set("done", done).into_table())
    }
}

/// Connected with no read or write timeout: a wait on it ends only when the peer acts.
fn connect(target: &str) -> Result<TcpStream, String> {
    let addr: SocketAddr = target
        .parse()
        .map_err(|e| format!("`target` {target:?} is not IP:PORT ({e})"))?;
    TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))
}

/// A read from a peer that never sends.
fn read(mut stream: TcpStream) -> String {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(n) => format!("read {n} bytes"),
        Err(e) => format!("read failed: {e}"),
    }
}

/// Writes to a peer that never reads: once its buffers are full, a write waits for good.
fn write(mut stream: TcpStream) -> String {
    let chunk = vec![0u8; CHUNK];
    loop {
        if let Err(e) = stream.write_all(&chunk) {
            return format!("write failed: {e}");
        }
    }
}

glint_sdk::export_input!(Stall);
