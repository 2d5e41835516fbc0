//! Hostile plugins speaking HTTP, against the running binary: an output plugin that answers
//! what a server must not (a 101, a body on a 204, a body over the limit) or logs a line
//! forging glint's own; and an exporter granted one HTTP destination that tries to reach
//! others.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use glint::embedded::GUEST_DIR;
use glint_tests::Server;
use glint_tests::community::{
    RESCAN_WAIT, fresh_dir, guest_bytes, install, status, text, wait_for,
};
use glint_tests::http200::Http200;
use glint_tests::raw::Answer;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp(test: &str) -> PathBuf {
    fresh_dir(env!("CARGO_TARGET_TMPDIR"), test)
}

#[test]
fn an_output_plugin_neither_answers_what_a_server_must_not_nor_forges_glint_s_log() {
    let tmp = tmp("output-answers");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = tmp.join("glint.toml");
    // 1 KiB: a body of 1024 bytes passes, one of 1025 does not.
    std::fs::write(&config, "[server]\noutput_max_body_kb = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let output = "kind = \"output\"\nversion = \"1\"\n";
    install(
        &dir,
        "test-output",
        &guest_bytes(GUEST_DIR, "output"),
        output,
    );
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "0.5",
            "-C",
            &config.display().to_string(),
            "--plugins-dir",
            &dir.display().to_string(),
        ],
        None,
    );
    wait_for("test-output loaded", RESCAN_WAIT, &server, || {
        (server.get_with("/api/3/outputs/test-output", &[]).0 == 200).then_some(())
    });
    answers_a_server_must_not_give_are_502s(&server);
    answers_a_server_may_give_pass(&server);

    // Its log: one line, marked as the plugin's, the forged line and the escape inside it.
    // Then the same text as a panic message, which glint quotes when it logs the trap.
    assert_eq!(ask(&server, "log").status, 200);
    wait_for(
        "test-output's log line",
        Duration::from_secs(10),
        &server,
        || {
            server
                .stderr_text()
                .contains("forged by test-output")
                .then_some(())
        },
    );
    assert_eq!(ask(&server, "panic").status, 502);
    assert_log_lines_are_test_output_s(&server);
}

/// GET `/api/3/outputs/test-output/PATH`, raw: an HTTP client may not even read a 101 with no
/// upgrade.
fn ask(server: &Server, path: &str) -> Answer {
    let request = format!(
        "GET /api/3/outputs/test-output/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    glint_tests::raw::exchange(server.port, request.as_bytes(), 1)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{path}: no answer"))
}

/// Not a final status, a body where the status has none, a body over the limit: a JSON 502
/// that names the plugin.
fn answers_a_server_must_not_give_are_502s(server: &Server) {
    for path in [
        "status/101",
        "status/100",
        "status/103",
        "status/199",
        "status/600",
        "status/99",
        "status/204",
        "status/304",
        "bytes/1025",
    ] {
        let answer = ask(server, path);
        let json = answer.json();
        assert_eq!(answer.status, 502, "{path}: {} {json}", answer.status_line);
        assert_eq!(json["status"], 502, "{path}: {json}");
        assert!(
            text(&json["message"]).contains("`test-output`"),
            "{path}: {json}"
        );
    }
}

/// What a server may answer passes as the plugin gave it.
fn answers_a_server_may_give_pass(server: &Server) {
    for (path, status, length) in [
        ("status/200", 200, 11),
        ("status/404", 404, 11),
        ("status/599", 599, 11),
        ("status/204/empty", 204, 0),
        ("status/304/empty", 304, 0),
        ("bytes/1024", 200, 1024),
    ] {
        let answer = ask(server, path);
        assert_eq!(
            (answer.status, answer.body.len()),
            (status, length),
            "{path}: {}",
            answer.status_line
        );
    }
}

/// test-output's text in glint's log, logged by the plugin and quoted from its panic: each
/// time on one line, with the line it forges and its terminal escape inside it, escaped; the
/// logged line marked as the plugin's.
fn assert_log_lines_are_test_output_s(server: &Server) {
    let stderr = wait_for(
        "test-output's trap logged",
        Duration::from_secs(10),
        server,
        || {
            let stderr = server.stderr_text();
            (stderr.matches("forged by test-output").count() >= 2).then_some(stderr)
        },
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("2030-")),
        "a plugin forged a line of glint's log:\n{stderr}"
    );
    assert!(
        !stderr.contains(['\u{1b}', '\r']),
        "a plugin's terminal escape reached the log:\n{stderr}"
    );
    let trap = stderr
        .lines()
        .find(|l| l.contains("forged by test-output") && !l.contains(" WARN plugin: "))
        .unwrap_or_default();
    assert!(trap.contains("test-output\\r\\u{1b}[2K"), "{trap}");
    let line = stderr
        .lines()
        .find(|l| l.contains("forged by test-output"))
        .unwrap_or_default();
    let marked = " WARN plugin: [test-output] test-output was asked to log\\n\
                  2030-01-01T00:00:00.000000Z ERROR glint::monitor: forged by test-output\\r\\u{1b}[2K";
    assert!(line.contains(marked), "{line}");
}

/// The hostile wasi:http case: an exporter from the plugins directory, granted one HTTP
/// destination by name (`http://localhost:P`), reaches it and nothing else — not another port
/// of the same address, not the granted port on an address the name does not resolve to, not
/// a name it was not granted (refused before any lookup: a name asked about is data sent out).
#[test]
fn an_exporter_reaches_only_its_granted_http_destination() {
    let tmp = tmp("httpout");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let destinations = Destinations::open();
    let (port, denied_port) = (destinations.port, destinations.denied_port);

    let config = tmp.join("glint.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[plugins.test-httpout]
granted = "http://localhost:{port}/ok"
denied_port = {denied_port}
repointed = "127.0.0.2:{port}"
[plugins.test-httpout.grant]
network = ["http://localhost:{port}"]
"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    install(
        &dir,
        "test-httpout",
        &guest_bytes(GUEST_DIR, "httpout"),
        &format!(
            "kind = \"exporter\"\nversion = \"1\"\n[capabilities]\nnetwork = [{{ destination = \"http://localhost:{port}\", reason = \"the hostile-plugin test's target\" }}]\n"
        ),
    );
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "1",
            "-C",
            &config.display().to_string(),
            "--plugins-dir",
            &dir.display().to_string(),
            "--export",
            "test-httpout",
        ],
        None,
    );
    httpout_reports_each_attempt(&server, port, denied_port);
    destinations.only_the_granted_one_was_reached();
    drop(server);
}

/// Real listeners for test-httpout: the granted one must be reached, the others never.
struct Destinations {
    /// The granted port, on 127.0.0.1 (and ::1).
    port: u16,
    denied_port: u16,
    stop: Arc<AtomicBool>,
    granted: Http200,
    granted_v6: Option<Http200>,
    repointed: Http200,
    denied: Http200,
}

impl Destinations {
    fn open() -> Destinations {
        let granted = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = granted
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        // The same port on another loopback address: where a re-pointed request would lead.
        let repointed = TcpListener::bind(("127.0.0.2", port))
            .unwrap_or_else(|e| panic!("127.0.0.2:{port}: {e}"));
        let denied = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let denied_port = denied
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        // Where `localhost` leads on a machine that resolves it to ::1 first: granted as well.
        let granted_v6 = TcpListener::bind(("::1", port)).ok();
        let stop = Arc::new(AtomicBool::new(false));
        let granted = Http200::serve(granted, stop.clone());
        let granted_v6 = granted_v6.map(|l| Http200::serve(l, stop.clone()));
        let repointed = Http200::serve(repointed, stop.clone());
        let denied = Http200::serve(denied, stop.clone());
        Destinations {
            port,
            denied_port,
            stop,
            granted,
            granted_v6,
            repointed,
            denied,
        }
    }

    /// The granted listener got the request; the others never got a connection.
    fn only_the_granted_one_was_reached(self) {
        let (port, denied_port) = (self.port, self.denied_port);
        self.stop.store(true, Ordering::Relaxed);
        let (mut granted_connections, mut granted_requests) = self.granted.finish();
        if let Some(v6) = self.granted_v6 {
            let (connections, requests) = v6.finish();
            granted_connections += connections;
            granted_requests.extend(requests);
        }
        assert!(
            granted_connections >= 1,
            "the granted destination was never reached"
        );
        assert!(
            granted_requests.iter().any(|l| l.starts_with("POST /ok ")),
            "the granted destination got no POST /ok: {granted_requests:?}"
        );
        let (connections, requests) = self.repointed.finish();
        assert_eq!(
            connections, 0,
            "the re-pointed address 127.0.0.2:{port} was reached: {requests:?}"
        );
        let (connections, requests) = self.denied.finish();
        assert_eq!(
            connections, 0,
            "the denied port 127.0.0.1:{denied_port} was reached: {requests:?}"
        );
    }
}

/// test-httpout's report, the text of the permanent error it answers every batch with: the
/// granted destination reached, the others denied; and the host's count of its refusals.
fn httpout_reports_each_attempt(server: &Server, port: u16, denied_port: u16) {
    let (report, s) = wait_for(
        "test-httpout reports its attempts",
        Duration::from_secs(90),
        server,
        || {
            let s = status(server, "test-httpout");
            let report: Value = serde_json::from_str(s["export"]["last_error"].as_str()?).ok()?;
            report.is_object().then_some((report, s))
        },
    );
    eprintln!("test-httpout: {report}");
    let verdict = |key: &str| text(&report[key]);
    assert_eq!(
        s["capabilities"],
        serde_json::json!([format!("network http://localhost:{port}")]),
        "{s}"
    );
    assert_eq!(
        verdict("granted"),
        "reached",
        "the granted destination: {report}"
    );
    for key in ["denied_port", "repointed", "exfil_name"] {
        assert_eq!(verdict(key), "denied", "{key}: {report}");
    }
    // HTTPS to the destination granted as plain http: whatever happens, it is not a plain
    // HTTP exchange (the host did not downgrade it; TLS cannot complete with this server).
    assert!(
        report["https"].is_string() && verdict("https") != "reached",
        "https: {report}"
    );
    // The host counted its refusals, and says what it refused.
    assert!(s["refusals"].as_u64().unwrap_or(0) >= 3, "{s}");
    let refusal = text(&s["last_refusal"]);
    let refused = [
        format!("127.0.0.1:{denied_port}"),
        format!("127.0.0.2:{port}"),
        "glint-exfil-".to_string(),
    ];
    assert!(
        refusal.contains("not a granted destination")
            && refused.iter().any(|d| refusal.contains(d.as_str())),
        "{s}"
    );
    assert!(s["export"]["rejected"].as_u64() > Some(0), "{s}");
}
