//! Community plugins against the running binary: a plugin dropped in the plugins directory is
//! loaded, a bad replacement is refused while the old version goes on, a good one is swapped
//! in, a removed one is unloaded, an entry that is no regular file (a FIFO, a device, a
//! socket...) is refused without blocking anything; and the hostile-plugin suite — guests
//! that loop, overrun, block in the host, blow their memory or stack, panic, flood their
//! output or log, hog the CPU, and try to read, write, connect or look at what they were not
//! granted — while the API is polled; and an output plugin that answers what a server must
//! not (a 101, a body on a 204, a body over the limit) or logs a line forging glint's own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use glint_tests::{Server, guest};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn guest_bytes(name: &str) -> Vec<u8> {
    let path = guest(glint::embedded::GUEST_DIR, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Puts plugin `name` in `dir`: its component (written aside and renamed in, as an upgrade
/// does) and its manifest.
fn install(dir: &Path, name: &str, bytes: &[u8], manifest: &str) {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap_or_else(|e| panic!("{e}"));
}

fn manifest(version: &str, extra: &str) -> String {
    format!("kind = \"input\"\nversion = \"{version}\"\n{extra}")
}

/// Polls `f` until it gives `Some`, for up to `limit`.
fn wait_for<T>(
    what: &str,
    limit: Duration,
    server: &Server,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if started.elapsed() > limit {
            panic!(
                "{what}: not after {limit:?}; plugins: {}\nstderr: {}",
                server.get("/api/3/plugins").1,
                server.stderr_text()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn status(server: &Server, name: &str) -> Value {
    server.get(&format!("/api/3/plugins/{name}")).1
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Rescans are every 5 s; loading a plugin on a loaded machine takes a few more.
const RESCAN_WAIT: Duration = Duration::from_secs(30);

#[test]
fn plugins_dropped_in_are_loaded_replaced_and_removed_while_glint_runs() {
    let tmp = tmp("lifecycle");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = tmp.join("glint.toml");
    std::fs::write(
        &config,
        "[plugins.test-snoop.grant]\nprocess_cmdlines = true\nprocess_users = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
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
    let counter = guest_bytes("counter");

    // Added: loaded without a restart, with its manifest's version and its source.
    install(&dir, "test-counter", &counter, &manifest("1", ""));
    let first = wait_for("test-counter loaded", RESCAN_WAIT, &server, || {
        let (code, body) = server.get("/api/3/test-counter");
        (code == 200 && body["stats"][0]["n"].as_u64().is_some()).then_some(body)
    });
    assert_eq!(first["stats"][0]["version"], "1");
    let s = status(&server, "test-counter");
    assert_eq!(s["version"], "1", "{s}");
    assert_eq!(s["status"], "running", "{s}");
    assert!(
        text(&s["source"]).ends_with("plugins/test-counter.wasm"),
        "{s}"
    );

    // Replaced by a broken file: refused, the old version keeps running and says why.
    install(
        &dir,
        "test-counter",
        &counter[..counter.len() / 2],
        &manifest("2", ""),
    );
    let s = wait_for(
        "the broken replacement reported",
        RESCAN_WAIT,
        &server,
        || {
            let s = status(&server, "test-counter");
            s["notes"]
                .to_string()
                .contains("a new version was refused")
                .then_some(s)
        },
    );
    assert_eq!(s["version"], "1", "{s}");
    assert!(
        s["notes"]
            .to_string()
            .contains("not a valid WebAssembly component"),
        "{s}"
    );
    let n_before = server.get("/api/3/test-counter").1["stats"][0]["n"].as_u64();
    std::thread::sleep(Duration::from_secs(1));
    let n_after = server.get("/api/3/test-counter").1["stats"][0]["n"].as_u64();
    assert!(
        n_after > n_before,
        "the old version stopped: {n_before:?} -> {n_after:?}"
    );

    // Replaced by a good version: handshaked and swapped in (a fresh instance counts anew).
    install(&dir, "test-counter", &counter, &manifest("2", ""));
    wait_for("version 2 swapped in", RESCAN_WAIT, &server, || {
        let s = status(&server, "test-counter");
        (s["version"] == "2" && !s["notes"].to_string().contains("refused")).then_some(())
    });

    // Granted the process readings: a community plugin sees command lines and users.
    install(
        &dir,
        "test-snoop",
        &guest_bytes("snoop"),
        &manifest(
            "1",
            "[capabilities]\nprocess_cmdlines = { reason = \"test\" }\nprocess_users = { reason = \"test\" }\n",
        ),
    );
    let snoop = wait_for("test-snoop reports", RESCAN_WAIT, &server, || {
        let (code, body) = server.get("/api/3/test-snoop");
        (code == 200 && body["stats"][0]["stats_processes"].as_u64() > Some(0))
            .then(|| body["stats"][0].clone())
    });
    for column in [
        "readings_cmdlines",
        "readings_users",
        "stats_cmdlines",
        "stats_users",
    ] {
        assert!(snoop[column].as_u64() > Some(0), "{column}: {snoop}");
    }
    let s = status(&server, "test-snoop");
    assert_eq!(
        s["capabilities"],
        serde_json::json!(["process_cmdlines", "process_users"]),
        "{s}"
    );

    // Removed: unloaded, gone from the list and the API.
    for ext in ["wasm", "toml"] {
        std::fs::remove_file(dir.join(format!("test-counter.{ext}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    wait_for("test-counter unloaded", RESCAN_WAIT, &server, || {
        let (_, list) = server.get("/api/3/pluginslist");
        (!list.to_string().contains("test-counter")).then_some(())
    });
    assert_eq!(server.get("/api/3/test-counter").0, 404);
    assert_eq!(server.get("/api/3/plugins/test-counter").0, 404);
    // The default plugins never stopped.
    assert!(server.get("/api/3/cpu").1["stats"][0]["total"].is_number());
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn no_entry_of_the_plugins_directory_blocks_glint_whatever_its_type() {
    let tmp = tmp("odd-entries");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let at = |name: &str| dir.join(name);
    let plain = manifest("1", "");
    // Each with a good manifest, so that its component is what gets read. The FIFO sorts
    // first: a glint that reads it waits for ever at start (and never gets to /dev/zero,
    // which it would read until memory ran out).
    let bad = [
        ("a-fifo.wasm", "a FIFO (named pipe), not a regular file"),
        ("b-zero.wasm", "a character device, not a regular file"),
        ("c-socket.wasm", "a Unix socket, not a regular file"),
        ("d-dir.wasm", "a directory, not a regular file"),
        ("e-sparse.wasm", "16384 MiB is more than the 64 MiB"),
        ("f-dangling.wasm", "a symbolic link whose target"),
        ("g-pipe-manifest.toml", "a FIFO (named pipe), not a"),
    ];
    let name_of = |file: &str| file.split('.').next().unwrap_or_default().to_string();
    for (file, _) in bad {
        let toml = at(&format!("{}.toml", name_of(file)));
        std::fs::write(toml, &plain).unwrap_or_else(|e| panic!("{e}"));
    }
    mkfifo(&at("a-fifo.wasm"));
    std::os::unix::fs::symlink("/dev/zero", at("b-zero.wasm")).unwrap_or_else(|e| panic!("{e}"));
    let _socket = std::os::unix::net::UnixListener::bind(at("c-socket.wasm"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(at("d-dir.wasm")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::File::create(at("e-sparse.wasm"))
        .and_then(|f| f.set_len(1 << 34))
        .unwrap_or_else(|e| panic!("a 16 GiB sparse file: {e}"));
    std::os::unix::fs::symlink(at("nowhere"), at("f-dangling.wasm"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A good component whose manifest is a FIFO.
    let counter = guest_bytes("counter");
    std::fs::write(at("g-pipe-manifest.wasm"), &counter).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(at("g-pipe-manifest.toml")).unwrap_or_else(|e| panic!("{e}"));
    mkfifo(&at("g-pipe-manifest.toml"));
    // Not named as a plugin: never looked at.
    mkfifo(&at("notes.fifo"));
    install(&dir, "test-counter", &counter, &plain);

    // Answers at all (within Server::start's bound), and at once.
    let plugins_dir = dir.display().to_string();
    let args = ["-t", "0.5", "--plugins-dir", plugins_dir.as_str()];
    let server = Server::start(BIN, &tmp, &args, None);
    let asked = Instant::now();
    assert_eq!(server.get("/api/3/status").0, 200);
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(5), "the API took {took:?}");
    wait_for("test-counter to run", RESCAN_WAIT, &server, || {
        (status(&server, "test-counter")["status"] == "running").then_some(())
    });
    for (file, what) in bad {
        let s = status(&server, &name_of(file));
        let reason = text(&s["last_error"]);
        assert_eq!(s["status"], "refused", "{file}: {s}");
        assert!(
            reason.contains(file) && reason.contains(what),
            "{file}: {s}"
        );
    }

    // The rescans go on: a plugin dropped in after the start loads.
    install(&dir, "test-snoop", &guest_bytes("snoop"), &plain);
    wait_for("test-snoop dropped in to run", RESCAN_WAIT, &server, || {
        (status(&server, "test-snoop")["status"] == "running").then_some(())
    });
    assert!(server.get("/api/3/cpu").1["stats"][0]["total"].is_number());
    // Each refusal said once, at start: the rescans since did not repeat it.
    let stderr = server.stderr_text();
    for (file, _) in bad {
        let lines = stderr.lines().filter(|l| l.contains(file)).count();
        assert_eq!(lines, 1, "{file} logged {lines} times:\n{stderr}");
    }
    assert!(!stderr.contains("notes.fifo"), "{stderr}");
}

/// Sequential GETs of `path` until `stop`: their latencies.
fn poll(
    server_port: u16,
    path: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build();
        let url = format!("http://127.0.0.1:{server_port}{path}");
        let mut times = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let ok = agent
                .get(&url)
                .call()
                .ok()
                .and_then(|r| r.into_string().ok())
                .is_some();
            assert!(ok, "{url} did not answer");
            times.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
        times
    })
}

fn p99(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times
        .get((times.len().saturating_sub(1)) * 99 / 100)
        .copied()
        .unwrap_or_default()
}

/// What the server's event stream carried until `stop`: the arrival time of every tick
/// event, and the data of every plugin event.
type Events = (Vec<Instant>, Vec<Value>);

fn events(server_port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Events> {
    std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server_port))
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = write!(
            stream,
            "GET /api/3/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        );
        let mut reader = BufReader::new(stream);
        let mut arrivals = Vec::new();
        let mut plugins = Vec::new();
        let mut line = String::new();
        while !stop.load(Ordering::Relaxed) {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.trim() == "event: tick" => arrivals.push(Instant::now()),
                Ok(_) => {
                    if let Some(data) = line.trim().strip_prefix("data:")
                        && let Ok(event) = serde_json::from_str::<Value>(data.trim())
                        && event["type"] == "plugin"
                    {
                        plugins.push(event);
                    }
                }
            }
        }
        (arrivals, plugins)
    })
}

#[test]
fn hostile_plugins_are_contained_and_the_api_keeps_answering() {
    let tmp = tmp("hostile");
    let dir = tmp.join("plugins");
    let granted_r = tmp.join("granted-read");
    let granted_w = tmp.join("granted-write");
    for d in [&dir, &granted_r, &granted_w] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(granted_r.join("file.txt"), "granted").unwrap_or_else(|e| panic!("{e}"));

    // Real listeners: the granted ones must be reached, the others never.
    let granted_tcp = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = granted_tcp.local_addr().map(|a| a.port()).unwrap_or(0);
    // The same port on another loopback address: where a re-pointed name would lead.
    let repointed = TcpListener::bind(("127.0.0.2", port)).unwrap_or_else(|e| panic!("{e}"));
    let denied_tcp = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let granted_udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let denied_udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    for s in [&granted_udp, &denied_udp] {
        let _ = s.set_nonblocking(true);
    }
    for l in [&repointed, &denied_tcp] {
        let _ = l.set_nonblocking(true);
    }
    // Accepted as they come: test-net connects every tick, and a listener that never accepts
    // fills its backlog (128) in half a minute of 0.25 s ticks, after which connects time out.
    let granted_stop = Arc::new(AtomicBool::new(false));
    let granted_tcp = Http200::serve(granted_tcp, granted_stop.clone());
    let addr = |l: &TcpListener| l.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let uaddr = |s: &UdpSocket| s.local_addr().map(|a| a.to_string()).unwrap_or_default();
    // Granted to test-stall: accepts and holds every connection, never writing a byte, so
    // the guest's read of it waits in the host until its deadline ends it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let stall_target = addr(&silent);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let api_port = glint_tests::free_port();
    // A name this machine resolves (its own), not granted to test-net: a lookup the host
    // must refuse before any resolver sees it (a name asked about is data sent out).
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost.localdomain".into());

    let config = tmp.join("glint.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[supervisor]
backoff_ms = 100
max_backoff_ms = 400
quarantine_after = 3

[plugins.test-readfile]
granted_file = "{r}/file.txt"
[plugins.test-readfile.grant]
directory = "{r}"

[plugins.test-writefile]
granted_dir = "{w}"
[plugins.test-writefile.grant]
directory = "{w}"

[plugins.test-env]
granted = ["PATH"]
[plugins.test-env.grant]
env = ["PATH"]

[plugins.test-net]
tcp_granted = "localhost:{port}"
udp_granted = "{gu}"
tcp_denied = "{dt}"
udp_denied = "{du}"
http_denied = "127.0.0.1:{api_port}"
repointed = "127.0.0.2:{port}"
lookup_denied = "{hostname}:80"
[plugins.test-net.grant]
network = ["localhost:{port}", "udp://{gu}"]

[plugins.test-stall]
stall = "read"
target = "{stall_target}"
[plugins.test-stall.grant]
network = ["{stall_target}"]
"#,
            r = granted_r.display(),
            w = granted_w.display(),
            gu = uaddr(&granted_udp),
            dt = addr(&denied_tcp),
            du = uaddr(&denied_udp),
            hostname = hostname,
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let reason = "reason = \"the hostile-plugin test\"";
    let plain = manifest("1", "");
    let guests: Vec<(&str, &str, String)> = vec![
        ("test-spin", "spin", plain.clone()),
        ("test-slow", "slow", plain.clone()),
        (
            "test-stall",
            "stall",
            manifest(
                "1",
                &format!(
                    "[capabilities]\nnetwork = [{{ destination = \"{stall_target}\", {reason} }}]\n"
                ),
            ),
        ),
        ("test-membomb", "membomb", plain.clone()),
        ("test-stack", "stack", plain.clone()),
        ("test-panic", "panic", plain.clone()),
        ("test-huge", "huge", plain.clone()),
        ("test-hog", "hog", plain.clone()),
        ("test-logflood", "logflood", plain.clone()),
        ("test-oldapi", "oldapi", plain.clone()),
        (
            "test-readfile",
            "readfile",
            manifest(
                "1",
                &format!(
                    "[capabilities]\ndirectory = {{ path = \"{}\", {reason} }}\n",
                    granted_r.display()
                ),
            ),
        ),
        (
            "test-writefile",
            "writefile",
            manifest(
                "1",
                &format!(
                    "[capabilities]\ndirectory = {{ path = \"{}\", {reason} }}\n",
                    granted_w.display()
                ),
            ),
        ),
        (
            "test-env",
            "env",
            manifest(
                "1",
                &format!(
                    "[capabilities]\nenv = [{{ name = \"PATH\", {reason} }}, {{ name = \"HOME\", {reason} }}]\n"
                ),
            ),
        ),
        (
            "test-net",
            "net",
            manifest(
                "1",
                &format!(
                    "[capabilities]\nnetwork = [{{ destination = \"localhost:{port}\", {reason} }}, {{ destination = \"udp://{}\", {reason} }}]\n",
                    uaddr(&granted_udp)
                ),
            ),
        ),
        (
            "test-snoop",
            "snoop",
            manifest(
                "1",
                &format!("[capabilities]\nprocess_cmdlines = {{ {reason} }}\n"),
            ),
        ),
    ];
    for (name, file, manifest) in &guests {
        install(&dir, name, &guest_bytes(file), manifest);
    }
    let wrongworld =
        std::path::Path::new(glint::embedded::GUEST_DIR).join("glint-test-wrongworld.wasm");
    let wrongworld =
        std::fs::read(&wrongworld).unwrap_or_else(|e| panic!("{}: {e}", wrongworld.display()));
    install(&dir, "test-wrongworld", &wrongworld, &plain);
    install(
        &dir,
        "test-junk",
        b"\0asm\x01\0\0\0 this is not a component",
        &plain,
    );
    let counter = guest_bytes("counter");
    install(
        &dir,
        "test-truncated",
        &counter[..counter.len() / 2],
        &plain,
    );

    // Without the attacks first: the API's latency on the same machine, same build.
    let baseline_tmp = tmp.join("baseline");
    let baseline = Server::start(BIN, &baseline_tmp, &["-t", "0.25"], None);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll(baseline.port, "/api/3/cpu", stop.clone());
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    let quiet = poller.join().unwrap_or_else(|_| panic!("poller"));
    drop(baseline);

    let server = Server::start_on(
        api_port,
        BIN,
        &tmp,
        &[
            "-t",
            "0.25",
            "-C",
            &config.display().to_string(),
            "--plugins-dir",
            &dir.display().to_string(),
        ],
        None,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll(server.port, "/api/3/cpu", stop.clone());
    let stream = events(server.port, stop.clone());

    // Every hostile plugin ends where it should, with the reason.
    let expected: Vec<(&str, &[&str], &[&str])> = vec![
        ("test-spin", &["quarantined"], &["deadline"]),
        ("test-slow", &["quarantined"], &["deadline"]),
        // Blocked in the host (a read of a socket that never sends), out of the epoch's reach.
        ("test-stall", &["quarantined"], &["deadline"]),
        ("test-membomb", &["quarantined"], &["memory cap"]),
        ("test-stack", &["quarantined"], &["stack", "out of bounds"]),
        ("test-panic", &["quarantined"], &["deliberate panic"]),
        (
            "test-huge",
            &["quarantined"],
            &["more than its limit", "memory cap"],
        ),
        ("test-hog", &["quarantined"], &["over its CPU budget"]),
        ("test-oldapi", &["refused"], &["API version 99"]),
        (
            "test-wrongworld",
            &["refused"],
            &["exports none of `update`"],
        ),
        (
            "test-junk",
            &["refused"],
            &["not a valid WebAssembly component"],
        ),
        (
            "test-truncated",
            &["refused"],
            &["not a valid WebAssembly component"],
        ),
    ];
    let started = Instant::now();
    let mut seen_throttled = false;
    let statuses: BTreeMap<String, Value> = wait_for(
        "every hostile plugin contained",
        Duration::from_secs(120),
        &server,
        || {
            let (_, all) = server.get("/api/3/plugins");
            let by_name: BTreeMap<String, Value> = all
                .as_array()
                .map(|a| a.iter().map(|p| (text(&p["name"]), p.clone())).collect())
                .unwrap_or_default();
            seen_throttled |= by_name
                .get("test-hog")
                .is_some_and(|s| s["status"] == "throttled");
            expected
                .iter()
                .all(|(name, states, _)| {
                    by_name
                        .get(*name)
                        .is_some_and(|s| states.iter().any(|st| s["status"] == *st))
                })
                .then_some(by_name)
        },
    );
    let attack_time = started.elapsed();
    for (name, _, reasons) in &expected {
        let s = &statuses[*name];
        let error = text(&s["last_error"]);
        assert!(
            reasons.iter().any(|r| error.contains(r)),
            "{name}: {error:?} names none of {reasons:?}: {s}"
        );
    }
    assert!(
        seen_throttled,
        "test-hog was never seen throttled before it was stopped"
    );
    // Re-enabled by the operator, a quarantined plugin runs (and fails) again.
    let before = status(&server, "test-spin")["restarts"]
        .as_u64()
        .unwrap_or(0);
    let (code, answer) = server.post("/api/3/plugins/test-spin/enable");
    assert_eq!(code, 200, "{answer}");
    wait_for(
        "test-spin runs again",
        Duration::from_secs(20),
        &server,
        || (status(&server, "test-spin")["restarts"].as_u64() > Some(before)).then_some(()),
    );
    assert_eq!(server.post("/api/3/plugins/nothing/enable").0, 404);
    let hog = status(&server, "test-hog");
    assert!(
        text(&hog["last_error"]).contains("throttled to every 8 ticks"),
        "{hog}"
    );
    assert!(status(&server, "test-logflood")["log_dropped"].as_u64() > Some(0));
    assert_eq!(status(&server, "test-logflood")["status"], "running");

    // The sandbox held: nothing escaped, everything granted worked.
    for name in ["test-readfile", "test-writefile", "test-env", "test-net"] {
        let row = server.get(&format!("/api/3/{name}")).1["stats"][0].clone();
        assert_eq!(row["escaped"], false, "{name}: {row}");
        assert_eq!(row["controls_ok"], true, "{name}: {row}");
    }
    let net = status(&server, "test-net");
    let outcome = text(&server.get("/api/3/test-net").1["stats"][0]["outcome"]);
    assert!(
        outcome.contains(&format!("lookup {hostname}:80: denied")),
        "{outcome}"
    );
    assert!(net["refusals"].as_u64() > Some(0), "{net}");
    assert!(
        text(&net["last_refusal"]).contains("not a granted destination"),
        "{net}"
    );
    let env = status(&server, "test-env");
    assert_eq!(
        env["capabilities"],
        serde_json::json!(["env PATH"]),
        "{env}"
    );
    assert_eq!(env["denied"], serde_json::json!(["env HOME"]), "{env}");
    let snoop = server.get("/api/3/test-snoop").1["stats"][0].clone();
    assert!(snoop["stats_processes"].as_u64() > Some(0), "{snoop}");
    for column in [
        "readings_cmdlines",
        "readings_users",
        "stats_cmdlines",
        "stats_users",
    ] {
        assert_eq!(snoop[column], 0, "{column} leaked: {snoop}");
    }
    // Written only where granted: not beside it, not in /tmp, not in glint's working directory.
    assert!(granted_w.join("inside.txt").exists());
    assert!(!tmp.join("outside.txt").exists());
    assert!(!Path::new("escape.txt").exists());
    let escaped_to_tmp = std::fs::read_dir("/tmp")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("glint-escape-"))
        })
        .unwrap_or(false);
    assert!(!escaped_to_tmp, "a file was written to /tmp");
    // The granted listener was reached; the others never were.
    let reached = |l: &TcpListener| l.accept().is_ok();
    granted_stop.store(true, Ordering::Relaxed);
    assert!(
        granted_tcp.finish().0 > 0,
        "the granted TCP destination was never reached"
    );
    assert!(!reached(&repointed), "the re-pointed address was reached");
    assert!(
        !reached(&denied_tcp),
        "the denied TCP destination was reached"
    );
    let mut buf = [0u8; 64];
    assert!(
        granted_udp.recv_from(&mut buf).is_ok(),
        "the granted UDP destination got nothing"
    );
    assert!(
        denied_udp.recv_from(&mut buf).is_err(),
        "the denied UDP destination got a datagram"
    );

    // The other plugins kept reporting.
    let all = server.get("/api/3/all").1;
    for plugin in ["cpu", "mem", "load", "processlist", "network"] {
        assert!(
            !all["stats"][0][plugin].is_null(),
            "{plugin} is missing from /all"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let attacked = poller.join().unwrap_or_else(|_| panic!("poller"));
    let (arrivals, plugin_events) = stream.join().unwrap_or_else(|_| panic!("event stream"));
    // The supervisor's verdicts went out on the notification stream, with their reasons.
    for name in ["test-spin", "test-hog"] {
        assert!(
            plugin_events.iter().any(|e| e["plugin"] == name
                && e["status"] == "quarantined"
                && e["reason"].is_string()),
            "no quarantined event for {name}: {plugin_events:?}"
        );
    }
    assert!(
        plugin_events
            .iter()
            .any(|e| e["plugin"] == "test-hog" && e["status"] == "throttled"),
        "no throttled event for test-hog"
    );
    // Each tick within the refresh plus the 500 ms deadline and the join grace, with slack.
    let longest = arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    assert!(arrivals.len() > 10, "{} ticks", arrivals.len());
    assert!(
        longest < Duration::from_millis(1500),
        "a tick took {longest:?}"
    );
    let (quiet_p99, attacked_p99) = (p99(quiet.clone()), p99(attacked.clone()));
    eprintln!(
        "hostile suite: {} guests contained in {attack_time:?}; {} ticks, longest gap {longest:?}; \
         /api/3/cpu p99 {quiet_p99:?} without attacks ({} requests), {attacked_p99:?} during them ({} requests)",
        guests.len() + 3,
        arrivals.len(),
        quiet.len(),
        attacked.len()
    );
    assert!(
        attacked_p99 < Duration::from_millis(500),
        "API p99 {attacked_p99:?} during the attacks"
    );
}

/// A plain HTTP server for the wasi:http test: counts the connections it accepts, keeps each
/// one's request line (`TLS handshake` for a TLS hello) and answers `200 ok`.
struct Http200 {
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Http200 {
    fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> Http200 {
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
    fn finish(self) -> (usize, Vec<String>) {
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

/// The hostile wasi:http case: an exporter from the plugins directory, granted one HTTP
/// destination by name (`http://localhost:P`), reaches it and nothing else — not another port
/// of the same address, not the granted port on an address the name does not resolve to, not
/// a name it was not granted (refused before any lookup: a name asked about is data sent out).
#[test]
fn an_output_plugin_neither_answers_what_a_server_must_not_nor_forges_glint_s_log() {
    let tmp = tmp("output-answers");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = tmp.join("glint.toml");
    // 1 KiB: a body of 1024 bytes passes, one of 1025 does not.
    std::fs::write(&config, "[server]\noutput_max_body_kb = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let output = "kind = \"output\"\nversion = \"1\"\n";
    install(&dir, "test-output", &guest_bytes("output"), output);
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
    // Raw: an HTTP client may not even read a 101 with no upgrade.
    let ask = |path: &str| {
        let request = format!(
            "GET /api/3/outputs/test-output/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        glint_tests::raw::exchange(server.port, request.as_bytes(), 1)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{path}: no answer"))
    };

    // Not a final status, a body where the status has none, a body over the limit: a JSON
    // 502 that names the plugin.
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
        let answer = ask(path);
        let json = answer.json();
        assert_eq!(answer.status, 502, "{path}: {} {json}", answer.status_line);
        assert_eq!(json["status"], 502, "{path}: {json}");
        assert!(
            text(&json["message"]).contains("`test-output`"),
            "{path}: {json}"
        );
    }
    // What a server may answer passes as the plugin gave it.
    for (path, status, length) in [
        ("status/200", 200, 11),
        ("status/404", 404, 11),
        ("status/599", 599, 11),
        ("status/204/empty", 204, 0),
        ("status/304/empty", 304, 0),
        ("bytes/1024", 200, 1024),
    ] {
        let answer = ask(path);
        assert_eq!(
            (answer.status, answer.body.len()),
            (status, length),
            "{path}: {}",
            answer.status_line
        );
    }

    // Its log: one line, marked as the plugin's, the forged line and the escape inside it.
    // Then the same text as a panic message, which glint quotes when it logs the trap.
    assert_eq!(ask("log").status, 200);
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
    assert_eq!(ask("panic").status, 502);
    assert_log_lines_are_test_output_s(&server);
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

#[test]
fn an_exporter_reaches_only_its_granted_http_destination() {
    let tmp = tmp("httpout");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));

    // Real listeners: the granted one must be reached, the others never.
    let granted = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = granted
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    // The same port on another loopback address: where a re-pointed request would lead.
    let repointed =
        TcpListener::bind(("127.0.0.2", port)).unwrap_or_else(|e| panic!("127.0.0.2:{port}: {e}"));
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
        &guest_bytes("httpout"),
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

    // Its report is the text of the permanent error it answers every batch with.
    let (report, s) = wait_for(
        "test-httpout reports its attempts",
        Duration::from_secs(90),
        &server,
        || {
            let s = status(&server, "test-httpout");
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

    // The granted listener got the request; the others never got a connection.
    stop.store(true, Ordering::Relaxed);
    let (mut granted_connections, mut granted_requests) = granted.finish();
    if let Some(v6) = granted_v6 {
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
    let (connections, requests) = repointed.finish();
    assert_eq!(
        connections, 0,
        "the re-pointed address 127.0.0.2:{port} was reached: {requests:?}"
    );
    let (connections, requests) = denied.finish();
    assert_eq!(
        connections, 0,
        "the denied port 127.0.0.1:{denied_port} was reached: {requests:?}"
    );
    drop(server);
}

/// Builds a scaffolded crate for wasm32-wasip2 with a target directory shared by the tests'
/// scaffolds (the SDK's dependencies compile once); returns the component.
fn build_scaffold(crate_dir: &Path, target: &Path, crate_name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--offline",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(target);
    // The outer cargo's settings are not the scaffold's (as runtime/build.rs does).
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        out.status.success(),
        "the scaffold of {crate_name} does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{crate_name}.wasm"))
}

#[test]
fn plugin_new_makes_crates_that_build_check_and_load_as_they_are() {
    let tmp = tmp("authoring");
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        let mut cmd = glint_tests::glint(BIN, &tmp);
        cmd.args(args);
        glint_tests::run_with_limit(cmd, Duration::from_secs(300)).0
    };
    for (name, kind) in [("hello", "input"), ("page", "output"), ("ship", "exporter")] {
        let crate_dir = tmp.join(name);
        let out = run(&[
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--dir",
            &crate_dir.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wasm = build_scaffold(&crate_dir, &target, name);
        let manifest = crate_dir.join(format!("{name}.toml"));
        let out = run(&[
            "plugin",
            "check",
            &wasm.display().to_string(),
            "--manifest",
            &manifest.display().to_string(),
        ]);
        let report = String::from_utf8_lossy(&out.stdout);
        if kind == "exporter" {
            assert!(report.contains("exports:   describe, export"), "{report}");
        }
        assert!(out.status.success(), "{report}");
        assert!(report.contains(&format!("handshake: {name} ")), "{report}");
        assert!(report.contains("glint would load it."), "{report}");
        install(
            &dir,
            name,
            &std::fs::read(&wasm).unwrap_or_else(|e| panic!("{e}")),
            &std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "0.5",
            "--plugins-dir",
            &dir.display().to_string(),
            "--export",
            "ship",
        ],
        None,
    );
    // The exporter runs as it is, named by --export: it gets batches and accepts them.
    let ship = wait_for("ship exports", RESCAN_WAIT, &server, || {
        let (_, body) = server.get("/api/3/plugins/ship");
        (body["export"]["sent"].as_u64().unwrap_or(0) >= 1).then_some(body)
    });
    assert_eq!(ship["status"], "running", "{ship}");
    assert_eq!(ship["kind"], "exporter", "{ship}");
    let hello = wait_for("hello reports", RESCAN_WAIT, &server, || {
        let (code, body) = server.get("/api/3/hello");
        (code == 200 && body["stats"][0]["greeting"] == "hello").then_some(body)
    });
    assert!(hello["stats"][0]["load_per_core"].is_number(), "{hello}");
    let (status, _, body) = server.get_with("/api/3/outputs/page/x", &[]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("path: /x\n") && body.contains("\ncpu "),
        "{body}"
    );

    // A component that is not one: the check says why, and exits 1.
    let junk = tmp.join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&["plugin", "check", &junk.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("glint would refuse it: junk: not a valid WebAssembly component"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
