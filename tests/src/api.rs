//! Talking to a running glint's API as its clients do: a server a few ticks in, and the
//! Server-Sent Events of /api/3/events read off the socket.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Server;

/// A server refreshing every 0.2 s (history fills quickly), with a few ticks behind it.
pub fn server(bin: &str, tmp: &Path, args: &[&str]) -> Server {
    let mut all = vec!["-t", "0.2"];
    all.extend_from_slice(args);
    let server = Server::start(bin, tmp, &all, None);
    server.wait_ticks("mem", 3);
    server
}

/// The input plugins glint runs.
pub fn every_plugin(server: &Server) -> Vec<String> {
    let (_, list) = server.get("/api/3/pluginslist");
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Status and content type of an SSE route, reading only the response head.
pub fn sse_head(server: &Server, url: &str) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", server.port)).unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = write!(
        stream,
        "GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    );
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    let _ = reader.read_line(&mut status_line);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut content_type = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-type:") {
            content_type = v.trim().to_string();
        }
    }
    (status, content_type)
}

/// An open SSE subscription: the response head is read, the events follow.
pub fn subscribe(server: &Server, url: &str) -> BufReader<TcpStream> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", server.port)).unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = write!(stream, "GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    let _ = reader.read_line(&mut status_line);
    assert!(
        status_line.split_whitespace().nth(1) == Some("200"),
        "subscribing to {url}: {status_line:?}"
    );
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
    }
    reader
}

/// Reads SSE events (name, JSON data) from a connection until `want` of them arrived.
pub fn read_sse(reader: &mut impl BufRead, want: usize, name: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut event = String::new();
    while events.len() < want {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(data) = line.strip_prefix("data: ")
            && (event == name || name.is_empty())
        {
            events.push(serde_json::from_str(data).unwrap_or(Value::Null));
        }
    }
    events
}

/// Reads events until one matches (30 s at most).
pub fn read_until(reader: &mut impl BufRead, matches: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(30) {
        for event in read_sse(reader, 1, "") {
            if matches(&event) {
                return event;
            }
            if event["type"] != "tick" {
                seen.push(event);
            }
        }
    }
    panic!("no such event in 30 s; other events: {seen:?}");
}
