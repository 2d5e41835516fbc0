//! Raw HTTP/1 over a TCP socket, for what an HTTP client library will not send or read: an
//! over-long URI, a malformed request line, a head that never ends, a `101` with no upgrade.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// How long a read waits: past the server's 10 s for a head to arrive, with room for a
/// loaded machine.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One answer as read off the socket.
#[derive(Debug)]
pub struct Answer {
    /// As sent, e.g. `HTTP/1.1 414 URI Too Long`.
    pub status_line: String,
    /// The status of the status line; 0 if it has none.
    pub status: u16,
    /// The header lines, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header of this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; Null when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `request` as it is on a new connection to 127.0.0.1:`port` and reads up to
/// `answers` answers (fewer when the server closes first).
pub fn exchange(port: u16, request: &[u8], answers: usize) -> Vec<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    // A server refusing a request may stop reading before its end: what comes back is the
    // test's concern, not whether all of it was written.
    let _ = stream.write_all(request);
    let mut reader = BufReader::new(stream);
    (0..answers)
        .map_while(|_| read_answer(&mut reader))
        .collect()
}

/// Reads one answer: its status line, its headers and a body of its Content-Length (none
/// after a 1xx, 204 or 304; up to the end of the connection without a length).
pub fn read_answer(reader: &mut impl BufRead) -> Option<Answer> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status_line = status_line.trim_end().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut answer = Answer {
        status_line,
        status,
        headers,
        body: Vec::new(),
    };
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(answer);
    }
    let length = answer
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok());
    match length {
        Some(length) => {
            answer.body = vec![0; length];
            let _ = reader.read_exact(&mut answer.body);
        }
        None => {
            let _ = reader.read_to_end(&mut answer.body);
        }
    }
    Some(answer)
}
