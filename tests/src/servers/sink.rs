//! A RESTful target in the test process itself: a thread that answers 200 to every POST.

/// Bodies an [`http_sink`] keeps: a test reads the first few; a benchmark posting thousands
/// must not fill memory with them.
pub const SINK_KEEPS: usize = 16;

/// A RESTful target on 127.0.0.1 (the port it answers on): answers 200 to every POST and
/// keeps the first [`SINK_KEEPS`] bodies.
pub fn http_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() < SINK_KEEPS {
                    kept.push(String::from_utf8_lossy(&body).into_owned());
                }
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, bodies)
}
