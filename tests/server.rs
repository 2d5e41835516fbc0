//! Server mode over real HTTP against the running binary: every documented route, the
//! envelope, auth on and off, gzip and CORS, modes together, bind errors, and Prometheus
//! scraping /metrics. Errors are in `http_errors.rs`, notifications in `events.rs`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use glint_tests::api::sse_head;
use glint_tests::{Server, free_port, glint, run_with_limit};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A server refreshing every 0.2 s (history fills quickly), with a few ticks behind it.
fn server(args: &[&str]) -> Server {
    glint_tests::api::server(BIN, &tmp(), args)
}

fn metadata(answer: &Value) -> &Value {
    &answer["metadata"]
}

/// The routes the issue asks for, in OpenAPI syntax.
const REQUIRED_ROUTES: &[&str] = &[
    "/",
    "/api/3/status",
    "/api/3/pluginslist",
    "/api/3/plugins",
    "/api/3/plugins/{name}",
    "/api/3/plugins/{name}/enable",
    "/api/3/all",
    "/api/3/all/limits",
    "/api/3/all/views",
    "/api/3/openapi.json",
    "/api/3/events",
    "/api/3/ws",
    "/api/3/outputs/{name}",
    "/api/3/outputs/{name}/{path}",
    "/metrics",
    "/api/3/{plugin}",
    "/api/3/{plugin}/limits",
    "/api/3/{plugin}/views",
    "/api/3/{plugin}/fields",
    "/api/3/{plugin}/history",
    "/api/3/{plugin}/history/{n}",
    "/api/3/{plugin}/{field}",
    "/api/3/{plugin}/{field}/history",
    "/api/3/{plugin}/{field}/history/{n}",
    "/api/3/{plugin}/{field}/{value}",
];

#[test]
fn every_documented_route_answers_and_every_route_is_documented() {
    let server = server(&[]);
    let (status, doc) = server.get("/api/3/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths: BTreeSet<String> = doc["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let required: BTreeSet<String> = REQUIRED_ROUTES.iter().map(|s| s.to_string()).collect();
    assert_eq!(paths, required, "the document and the served routes differ");

    let (_, network) = server.get("/api/3/network");
    let interface = network["stats"][0]["interface_name"]
        .as_str()
        .unwrap_or("lo")
        .to_string();
    // Each template with real values: a record plugin and a list plugin where it matters.
    for path in &paths {
        for url in examples(path, &interface, server.pid()) {
            check_route(&server, &doc, path, &url);
        }
    }
    // What is not in the table is a JSON 404.
    for url in ["/api/4/cpu", "/api/3/mem/percent/history/2/more", "/api"] {
        let (status, body) = server.get(url);
        assert_eq!(status, 404, "{url}");
        assert_eq!(body["status"], 404, "{url}");
    }
}

/// URLs that fill a route template with real values: a record plugin and a list plugin where
/// it matters.
fn examples(path: &str, interface: &str, pid: u32) -> Vec<String> {
    if path.contains("{value}") {
        vec![
            format!("/api/3/network/interface_name/{interface}"),
            format!("/api/3/network/bytes_recv/{interface}"),
            format!("/api/3/processlist/pid/{pid}"),
            "/api/3/fs/mnt_point/%2F".to_string(),
        ]
    } else if path.contains("{plugin}") {
        ["mem", "network"]
            .iter()
            .map(|plugin| {
                let field = if *plugin == "mem" {
                    "percent"
                } else {
                    "bytes_recv"
                };
                path.replace("{plugin}", plugin)
                    .replace("{field}", field)
                    .replace("{n}", "2")
            })
            .collect()
    } else {
        vec![
            path.replace("{name}", "prometheus")
                .replace("{path}", "any/thing"),
        ]
    }
}

/// `url`, an example of the documented route `path`, answers: a WebSocket opens, an event
/// stream starts, anything else is a 200 to its method (POST where the document says so).
fn check_route(server: &Server, doc: &Value, path: &str, url: &str) {
    match path {
        "/api/3/ws" => {
            let (mut socket, _) =
                tungstenite::connect(format!("ws://127.0.0.1:{}{url}", server.port))
                    .unwrap_or_else(|e| panic!("{url}: {e}"));
            let _ = socket.close(None);
        }
        "/api/3/events" => {
            let (status, content_type) = sse_head(server, url);
            assert_eq!(status, 200, "{url}");
            assert!(content_type.starts_with("text/event-stream"), "{url}");
        }
        _ => {
            let method = if doc["paths"][path].get("post").is_some() {
                "POST"
            } else {
                "GET"
            };
            let (status, _, body) = server.call(method, url, &[]);
            assert_eq!(
                status,
                200,
                "{url}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
    }
}

#[test]
fn the_envelope_is_the_seeds_on_every_stats_answer() {
    let server = server(&[]);
    envelopes(&server);
    keyed_rows_and_fields(&server);
    history_points(&server);
    limits_views_and_fields(&server);
    plugins_and_status(&server);
}

/// The envelope of a record plugin, a list plugin and `all`, with and without views.
fn envelopes(server: &Server) {
    let (status, mem) = server.get("/api/3/mem");
    assert_eq!(status, 200);
    assert_eq!(
        metadata(&mem),
        &serde_json::json!({"api_version": 3, "source": "lib", "plugin_name": "mem", "plugin_key": null})
    );
    assert_eq!(mem["stats"].as_array().map(Vec::len), Some(1));
    assert!(mem["stats"][0]["total"].as_u64().is_some_and(|t| t > 0));
    assert_eq!(mem["views"].as_array().map(Vec::len), Some(1));
    assert!(mem["views"][0]["percent"]["decoration"].is_string());

    let (_, no_views) = server.get("/api/3/mem?views=false");
    assert!(no_views.get("views").is_none(), "{no_views}");
    assert!(no_views["stats"].is_array());

    let (_, network) = server.get("/api/3/network");
    assert_eq!(metadata(&network)["plugin_key"], "interface_name");
    let (_, fs) = server.get("/api/3/fs");
    assert_eq!(metadata(&fs)["plugin_key"], "mnt_point");

    let (_, all) = server.get("/api/3/all");
    assert_eq!(metadata(&all)["plugin_name"], "all");
    assert!(
        all["stats"][0]["cpu"]["total"].is_number(),
        "{}",
        all["stats"]
    );
    assert!(all["views"][0]["mem"]["percent"]["decoration"].is_string());
}

/// Rows by their key (numeric keys too), and a field of every row.
fn keyed_rows_and_fields(server: &Server) {
    // Numeric keys match: glint's own process by its pid.
    let pid = server.pid();
    let (status, me) = server.get(&format!("/api/3/processlist/pid/{pid}"));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["stats"][0]["pid"], pid);
    assert_eq!(metadata(&me)["plugin_key"], "pid");
    let (status, one) = server.get("/api/3/processlist/pid/1");
    assert_eq!((status, one["stats"][0]["pid"].as_u64()), (200, Some(1)));

    // A field of every row, with the row's key.
    let (_, field) = server.get("/api/3/network/bytes_recv");
    let rows = field["stats"].as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["interface_name"].is_string() && r["bytes_recv"].is_number())
    );
    let (_, total) = server.get("/api/3/cpu/total");
    assert!(total["stats"][0]["total"].is_number());
    assert!(total["views"][0]["total"]["decoration"].is_string());
}

/// History: source `history`, [ISO timestamp, value] points, `/n` keeps the last n.
fn history_points(server: &Server) {
    let (_, history) = server.get("/api/3/mem/history");
    assert_eq!(metadata(&history)["source"], "history");
    let points = history["stats"][0]["percent"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(points.len() >= 3, "{history}");
    assert!(points[0][0].as_str().is_some_and(|t| t.ends_with("+00:00")));
    assert!(points[0][1].is_number());
    let (_, last2) = server.get("/api/3/mem/history/2");
    assert_eq!(
        last2["stats"][0]["percent"].as_array().map(Vec::len),
        Some(2)
    );
    let (_, field_history) = server.get("/api/3/network/bytes_recv/history/1");
    let items = field_history["stats"][0]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty(), "{field_history}");
    assert!(
        items
            .keys()
            .all(|k| k.ends_with("_bytes_recv_rate_per_sec")),
        "{items:?}"
    );
}

/// Limits, views and field metadata, of one plugin and of all.
fn limits_views_and_fields(server: &Server) {
    let (_, limits) = server.get("/api/3/cpu/limits");
    assert_eq!(limits["stats"][0]["history_size"], 1200.0);
    assert!(
        limits["stats"][0]["cpu_total_careful"].is_number(),
        "{limits}"
    );
    let (_, views) = server.get("/api/3/cpu/views");
    assert!(views["views"][0]["total"]["decoration"].is_string());
    let (_, fields) = server.get("/api/3/network/fields");
    let names: Vec<&str> = fields["stats"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"bytes_recv") && names.contains(&"bytes_recv_rate_per_sec"));
    let unit = fields["stats"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["name"] == "bytes_recv"))
        .map(|f| f["unit"].clone());
    assert_eq!(unit, Some(Value::from("bytes")));
    let (_, all_limits) = server.get("/api/3/all/limits");
    assert!(all_limits["stats"][0]["mem"]["history_size"].is_number());
    let (_, all_views) = server.get("/api/3/all/views");
    assert!(all_views["views"][0]["cpu"]["total"]["decoration"].is_string());
}

/// The plugins' list and health, the status and the root.
fn plugins_and_status(server: &Server) {
    let (_, list) = server.get("/api/3/pluginslist");
    assert!(
        list.as_array()
            .is_some_and(|l| l.len() >= 20 && l.contains(&Value::from("alert")))
    );
    // The plugins' health: every one, with its kind, calls made and memory.
    let (_, plugins) = server.get("/api/3/plugins");
    let plugin = |name: &str| {
        plugins
            .as_array()
            .and_then(|l| l.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in /api/3/plugins: {plugins}"))
    };
    let cpu = plugin("cpu");
    assert_eq!(
        (cpu["kind"].as_str(), cpu["status"].as_str()),
        (Some("input"), Some("running"))
    );
    assert!(cpu["calls"].as_u64() >= Some(1), "{cpu}");
    assert!(cpu["memory_bytes"].as_u64() > Some(0), "{cpu}");
    assert_eq!(plugin("prometheus")["kind"], "output");
    let (_, status_answer) = server.get("/api/3/status");
    assert_eq!(status_answer["api_version"], 3);
    // Until the web UI exists, `/` points to the API.
    let (status, root) = server.get("/");
    assert_eq!((status, root["api"].as_str()), (200, Some("/api/3")));
}

fn basic(user: &str, password: &str) -> String {
    use std::fmt::Write as _;
    // Base64 by hand: the tests need no crate for one header.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

fn assert_auth(server: &Server, user: &str, password: &str) {
    // Status never needs auth.
    assert_eq!(server.get("/api/3/status").0, 200);
    for url in [
        "/api/3/cpu",
        "/api/3/all",
        "/metrics",
        "/api/3/openapi.json",
        "/",
    ] {
        let (status, _, body) = server.get_with(url, &[]);
        assert_eq!(status, 401, "{url}");
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(json["status"], 401);
    }
    let response = match ureq::get(&server.url("/api/3/cpu")).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic realm=")),
        "{:?}",
        response.header("www-authenticate")
    );
    let wrong = basic(user, "wrong");
    assert_eq!(
        server
            .get_with("/api/3/cpu", &[("Authorization", &wrong)])
            .0,
        401
    );
    let other = basic("someone", password);
    assert_eq!(
        server
            .get_with("/api/3/cpu", &[("Authorization", &other)])
            .0,
        401
    );
    let right = basic(user, password);
    assert_eq!(
        server
            .get_with("/api/3/cpu", &[("Authorization", &right)])
            .0,
        200
    );
    assert_eq!(
        server.get_with("/metrics", &[("Authorization", &right)]).0,
        200
    );
}

#[test]
fn auth_from_the_command_line_and_from_a_hashed_config() {
    // --password reads one line from stdin when it is not a terminal.
    let server = Server::start(
        BIN,
        &tmp(),
        &["--password", "--username", "ops"],
        Some("s3cret pass\n"),
    );
    assert_auth(&server, "ops", "s3cret pass");
    drop(server);

    // --hash-password prints a salted hash; the config keeps that, never the password.
    let mut cmd = glint(BIN, &tmp());
    cmd.arg("--hash-password")
        .stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"from-config\n");
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains("from-config"),
        "{hash}"
    );
    let config = tmp().join("auth.toml");
    std::fs::write(&config, format!("[server]\npassword = \"{hash}\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(BIN, &tmp(), &["-C", &config.display().to_string()], None);
    assert_auth(&server, "glint", "from-config");
    drop(server);

    // A clear password in the config is refused, naming the key and what to do.
    let bad = tmp().join("auth-bad.toml");
    std::fs::write(&bad, "[server]\npassword = \"hunter2\"\n").unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = glint(BIN, &tmp());
    cmd.args([
        "-s",
        "-p",
        &free_port().to_string(),
        "-C",
        &bad.display().to_string(),
    ]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("auth-bad.toml:2")
            && stderr.contains("server.password")
            && stderr.contains("--hash-password"),
        "{stderr}"
    );
}

#[test]
fn auth_is_off_without_a_password() {
    let server = server(&[]);
    assert_eq!(server.get("/api/3/cpu").0, 200);
    assert_eq!(server.get("/metrics").0, 200);
}

#[test]
fn server_and_stdout_run_together_off_one_tick() {
    let server = Server::start(BIN, &tmp(), &["-t", "0.2", "--stdout", "cpu.total"], None);
    server.wait_ticks("cpu", 4);
    let printed = std::fs::read_to_string(&server.stdout).unwrap_or_default();
    let lines: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("cpu.total"))
        .collect();
    assert!(lines.len() >= 2, "stdout: {printed:?}");
    assert_eq!(server.get("/api/3/cpu").0, 200);
}

#[test]
fn gzip_when_asked_and_cors_when_configured() {
    let config = tmp().join("cors.toml");
    std::fs::write(
        &config,
        "[server]\ncors_origins = [\"https://dash.example\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let server = server(&["-C", &config.display().to_string()]);
    let response = ureq::get(&server.url("/api/3/all"))
        .set("Accept-Encoding", "gzip")
        .set("Origin", "https://dash.example")
        .call()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    let mut body = Vec::new();
    let _ = response.into_reader().read_to_end(&mut body);
    assert_eq!(&body[..2], &[0x1f, 0x8b], "not gzip");
    // Without Accept-Encoding: plain JSON. Another origin: no CORS header.
    let plain = ureq::get(&server.url("/api/3/all"))
        .set("Origin", "https://evil.example")
        .call()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("access-control-allow-origin"), None);

    // No CORS configured: no header at all.
    let server = self::server(&[]);
    let response = ureq::get(&server.url("/api/3/cpu"))
        .set("Origin", "https://dash.example")
        .call()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.header("access-control-allow-origin"), None);
}

#[test]
fn bind_errors_and_the_no_password_warning_are_clear() {
    // An address this machine does not have: the warning first (no password, not loopback),
    // then a bind error that says what to do. Nothing listens beyond loopback.
    let mut cmd = glint(BIN, &tmp());
    cmd.args(["-s", "-B", "192.0.2.254", "-p", &free_port().to_string()]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("without a password"), "{stderr}");
    assert!(
        stderr.contains("192.0.2.254") && stderr.contains("-B"),
        "{stderr}"
    );

    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut cmd = glint(BIN, &tmp());
    cmd.args(["-s", "-p", &port.to_string()]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&port.to_string()) && stderr.contains("-p"),
        "{stderr}"
    );
    assert!(!stderr.contains("without a password"), "{stderr}");

    // Not an address.
    let mut cmd = glint(BIN, &tmp());
    cmd.args(["-s", "-B", "localhost.nope"]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(60));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-B localhost.nope"));
}

#[test]
fn metrics_pass_promtool_and_a_real_prometheus_scrapes_them() {
    let server = server(&[]);
    let (status, content_type, body) = server.get_with("/metrics", &[]);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = String::from_utf8_lossy(&body).to_string();
    assert_eq!(
        server.get_with("/api/3/outputs/prometheus", &[]).0,
        200,
        "the plugin is also under /api/3/outputs"
    );
    promtool_finds_nothing(&text);
    each_series_once(&text);
    prometheus_scrapes(&server);
}

/// promtool: exit 0 and no lint finding at all.
fn promtool_finds_nothing(text: &str) {
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool (Debian package `prometheus`): {e}"));
    if let Some(mut stdin) = promtool.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = promtool
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{e}"));
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool: {findings}"
    );
}

/// Every family has HELP and TYPE; no series twice.
fn each_series_once(text: &str) {
    let mut series = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.rsplit_once(' ').map_or(line, |(n, _)| n);
        assert!(series.insert(name.to_string()), "duplicate series {name}");
    }
    assert!(text.contains("# TYPE glint_mem_total_bytes gauge"));
    assert!(text.contains("# TYPE glint_network_bytes_recv_total counter"));
}

/// A Prometheus process, stopped by its PID when dropped.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real Prometheus in `dir` (its config, data and log), scraping glint on `glint_port`
/// every second and answering queries on `port`.
fn start_prometheus(dir: &Path, glint_port: u16, port: u16) -> Stop {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: glint\n    static_configs:\n      - targets: ['127.0.0.1:{glint_port}']\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::File::create(dir.join("log")).unwrap_or_else(|e| panic!("{e}"));
    Stop(
        std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("prometheus (Debian package `prometheus`): {e}")),
    )
}

/// A real Prometheus scrapes glint, then answers a query for a glint metric.
fn prometheus_scrapes(server: &Server) {
    let dir = tmp().join(format!("prometheus-{}", server.port));
    let prom_port = free_port();
    // Stopped by its PID on every way out of the test.
    let _prometheus = start_prometheus(&dir, server.port, prom_port);

    let query = |q: &str| -> Value {
        ureq::get(&format!("http://127.0.0.1:{prom_port}/api/v1/query"))
            .query("query", q)
            .call()
            .ok()
            .and_then(|r| r.into_json().ok())
            .unwrap_or(Value::Null)
    };
    let started = Instant::now();
    let total = loop {
        let answer = query("glint_mem_total_bytes");
        if let Some(value) = answer["data"]["result"][0]["value"][1].as_str() {
            break value.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus has no glint_mem_total_bytes after 60 s: {answer}; log: {}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let (_, mem) = server.get("/api/3/mem");
    assert_eq!(total, mem["stats"][0]["total"].to_string());
    let up = query("up{job=\"glint\"}");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let labelled = query("glint_network_bytes_recv_total");
    assert!(
        labelled["data"]["result"][0]["metric"]["interface_name"].is_string(),
        "{labelled}"
    );
}
