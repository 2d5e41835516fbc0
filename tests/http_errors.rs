//! Error answers over real HTTP against the running binary: every route's errors, and the
//! HTTP layer's own (over-long URIs and headers, malformed requests, a head that never ends),
//! each JSON naming the bad part.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use glint_tests::{Server, raw};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A server refreshing every 0.2 s, with a few ticks behind it.
fn server(args: &[&str]) -> Server {
    glint_tests::api::server(BIN, &tmp(), args)
}

#[test]
fn every_error_is_json_naming_the_bad_part() {
    let server = server(&[]);
    let check = |url: &str, want: u16, needle: &str| {
        let (status, content_type, body) = server.get_with(url, &[]);
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, want, "{url}: {json}");
        assert_eq!(content_type, "application/json", "{url}");
        assert_eq!(json["status"], want, "{url}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{url}: {message:?} lacks {needle:?}"
        );
    };
    check("/api/3/nope", 404, "unknown plugin `nope`");
    check("/api/3/nope", 404, "cpu");
    check("/api/3/cpu/nope", 404, "unknown field `nope`");
    check("/api/3/cpu/nope", 404, "total");
    check("/api/3/network/interface_name/nope0", 404, "`nope0`");
    check("/api/3/processlist/pid/999999999", 404, "999999999");
    check("/api/3/mem/percent/total", 404, "one record");
    check("/api/3/cpu/history/abc", 400, "`abc` is not a number");
    check("/api/3/mem/percent/history/-1", 400, "`-1`");
    check("/api/3/cpu/steal/history", 404, "no history of `steal`");
    check("/api/3/mem?views=maybe", 400, "views=maybe");
    check("/api/3/events?plugins=cpu,nope", 404, "plugins=nope");
    check("/api/3/outputs/nope", 404, "prometheus");
    check("/api/3/ws", 400, "WebSocket");
    check("/nothing/here", 404, "/api/3");
    // Not UTF-8 once percent-decoded: axum's rejection, as JSON.
    check("/api/3/cpu/%FF", 400, "bad path");

    // Wrong method: 405 in JSON, with Allow.
    let agent = ureq::AgentBuilder::new().build();
    for method in ["POST", "PUT", "DELETE"] {
        let response = match agent.request(method, &server.url("/api/3/cpu")).call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method}: {e}"),
        };
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
        let json: Value = response.into_json().unwrap_or(Value::Null);
        assert_eq!(json["status"], 405);
    }
}

/// An error answer read off the socket: `want` in its status line, and a JSON body with that
/// status and a message, which is returned.
fn json_error(what: &str, answer: Option<&raw::Answer>, want: u16) -> String {
    let answer = answer.unwrap_or_else(|| panic!("{what}: no answer"));
    let json = answer.json();
    assert!(
        answer.status_line.starts_with(&format!("HTTP/1.1 {want} ")),
        "{what}: {} {json}",
        answer.status_line
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(json["status"], want, "{what}: {json}");
    json["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no message in {json}"))
        .to_string()
}

/// Requests the HTTP layer refuses before any route sees them: what each is, its bytes, the
/// status it must get and a part of the message.
fn faults_of_the_http_layer() -> Vec<(&'static str, Vec<u8>, u16, &'static str)> {
    let long_uri = |n: usize| {
        format!(
            "GET /api/3/cpu?x={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(n)
        )
        .into_bytes()
    };
    let big_header = format!(
        "GET /api/3/cpu HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(40_000)
    );
    let many_headers = format!(
        "GET /api/3/cpu HTTP/1.1\r\n{}\r\n",
        "X-A: b\r\n".repeat(101)
    );
    let chunked = "POST /api/3/plugins/cpu/enable HTTP/1.1\r\nHost: x\r\n\
                   Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    vec![
        ("a URI over 8 KiB", long_uri(9_000), 414, "8192"),
        // Past hyper's own limit (64 KiB), where hyper would answer a bare 414 itself: the
        // guard answers first, as soon as the unended line passes its 32 KiB head.
        ("a URI over 64 KiB", long_uri(70_000), 414, "8192"),
        ("a header of 40 KB", big_header.into_bytes(), 431, "32 KiB"),
        (
            "101 headers",
            many_headers.into_bytes(),
            431,
            "header lines",
        ),
        (
            "an HTTP version that is none",
            b"GET /api/3/cpu HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "HTTP version",
        ),
        (
            "not HTTP at all",
            b"\x16\x03\x01\x02\x00 hello\r\n\r\n".to_vec(),
            400,
            "malformed request",
        ),
        (
            "a target that is no URI",
            b"GET /api/3/cpu<x> HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "not a valid URI",
        ),
        (
            "a header line without a colon",
            b"GET /api/3/cpu HTTP/1.1\r\nHost x\r\n\r\n".to_vec(),
            400,
            "header lines",
        ),
        (
            "a chunked body",
            chunked.as_bytes().to_vec(),
            411,
            "Content-Length",
        ),
    ]
}

#[test]
fn the_http_layer_s_own_errors_are_json_too() {
    let server = server(&[]);
    let cases = faults_of_the_http_layer();
    for (what, request, status, needle) in &cases {
        let answers = raw::exchange(server.port, request, 1);
        let message = json_error(what, answers.first(), *status);
        assert!(
            message.contains(needle),
            "{what}: {message:?} lacks {needle:?}"
        );
    }

    // A good request, then a bad one on the same connection: each answered, in turn.
    let two =
        b"GET /api/3/status HTTP/1.1\r\nHost: x\r\n\r\nGET /api/3/cpu HTTP/1.1\r\nHost x\r\n\r\n";
    let answers = raw::exchange(server.port, two, 2);
    assert_eq!(answers.first().map(|a| a.status), Some(200), "{answers:?}");
    json_error("a bad request after a good one", answers.get(1), 400);

    // A head that never ends: answered once the server's 10 s for it are up.
    let started = Instant::now();
    let partial = b"GET /api/3/cpu HTTP/1.1\r\nHost: x\r\n";
    let answers = raw::exchange(server.port, partial, 1);
    let message = json_error("a head that never ends", answers.first(), 408);
    assert!(message.contains("10 s"), "{message}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "answered after {:?}",
        started.elapsed()
    );
    // And the server still answers.
    assert_eq!(server.get("/api/3/status").0, 200);
}
