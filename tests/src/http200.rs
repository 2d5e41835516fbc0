//! A plain HTTP server for the sandbox tests: the destinations a plugin is granted or denied,
//! which count the connections they get, keep each request line and answer `200 ok`.

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A plain HTTP server for the wasi:http test: counts the connections it accepts, keeps each
/// one's request line (`TLS handshake` for a TLS hello) and answers `200 ok`.
pub struct Http200 {
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Http200 {
    /// Serves `listener` on a thread of its own until `stop` (and what is queued then).
    pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> Http200 {
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, lines) = (connections.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            loop {
                // Read before the accept: once stopped, what is still queued is counted too.
                let stopping = stop.load(Ordering::Relaxed);
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let lines = lines.clone();
                        std::thread::spawn(move || answer_200(stream, &lines));
                    }
                    Err(_) if stopping => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Http200 {
            connections,
            requests,
            thread,
        }
    }

    /// Stops accepting, once what is queued is counted: the connections, and the request lines.
    pub fn finish(self) -> (usize, Vec<String>) {
        let _ = self.thread.join();
        let lines = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        (self.connections.load(Ordering::Relaxed), lines)
    }
}

/// Reads one request (its headers and `content-length` body, or a TLS hello), notes its
/// first line and answers `200 ok`.
fn answer_200(mut stream: std::net::TcpStream, requests: &Mutex<Vec<String>>) {
    use std::io::Read as _;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    while !request_complete(&buf) && buf.len() < (1 << 16) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = if buf.first() == Some(&0x16) {
        "TLS handshake".to_string()
    } else {
        String::from_utf8_lossy(&buf)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(line);
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
    );
    let _ = stream.flush();
}

/// Whether `buf` holds a whole HTTP request (headers, and as much body as they announce), or
/// a TLS record (a hello, which no HTTP answer completes).
fn request_complete(buf: &[u8]) -> bool {
    if buf.first() == Some(&0x16) {
        return true;
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            if name.trim().eq_ignore_ascii_case("content-length") {
                value.trim().parse::<usize>().ok()
            } else {
                None
            }
        })
        .unwrap_or(0);
    buf.len() >= end + 4 + length
}
