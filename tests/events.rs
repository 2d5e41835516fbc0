//! Notifications over real HTTP against the running binary: SSE and WebSocket ticks, alerts
//! and plugin restarts as events, and subscribers that never read, which must neither delay
//! ticks nor other subscribers nor hold glint to more than twice its idle memory.

use std::io::{BufReader, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use glint_tests::Server;
use glint_tests::api::{every_plugin, read_sse, read_until, subscribe};
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
fn sse_and_websocket_each_receive_ticks_with_the_asked_stats() {
    let server = server(&[]);
    let mut sse = subscribe(&server, "/api/3/events?plugins=cpu,mem");
    // Chunked transfer: each event is preceded by its chunk size line; read_sse skips them.
    let ticks = read_sse(&mut sse, 2, "tick");
    assert_eq!(ticks.len(), 2, "{ticks:?}");
    for tick in &ticks {
        assert_eq!(tick["type"], "tick");
        assert_eq!(tick["plugins"], serde_json::json!(["cpu", "mem"]));
        assert!(tick["stats"]["cpu"]["total"].is_number(), "{tick}");
        assert!(tick["stats"]["mem"]["percent"].is_number(), "{tick}");
        assert!(tick["stats"].get("load").is_none());
    }
    let seq = |t: &Value| t["seq"].as_u64().unwrap_or(0);
    assert!(seq(&ticks[1]) > seq(&ticks[0]));

    // Without a filter: every plugin's name, no stats.
    let mut plain = subscribe(&server, "/api/3/events");
    let tick = read_sse(&mut plain, 1, "tick");
    assert!(tick[0]["plugins"].as_array().is_some_and(|p| p.len() >= 20));
    assert!(tick[0].get("stats").is_none());

    let (mut socket, _) = tungstenite::connect(format!(
        "ws://127.0.0.1:{}/api/3/ws?plugins=load",
        server.port
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ws_ticks = Vec::new();
    while ws_ticks.len() < 2 {
        let message = socket.read().unwrap_or_else(|e| panic!("websocket: {e}"));
        if let tungstenite::Message::Text(text) = message {
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if json["type"] == "tick" {
                ws_ticks.push(json);
            }
        }
    }
    assert!(
        ws_ticks
            .iter()
            .all(|t| t["stats"]["load"]["min1"].is_number())
    );
    assert!(seq(&ws_ticks[1]) > seq(&ws_ticks[0]));
    let _ = socket.close(None);
}

#[test]
fn a_stuck_subscriber_neither_delays_ticks_nor_other_subscribers() {
    let server = Server::start(BIN, &tmp(), &["-t", "0.1"], None);
    server.wait_ticks("mem", 2);
    let every = every_plugin(&server);
    // The stuck one asks for every plugin's stats (large events) and never reads.
    let mut stuck = subscribe(
        &server,
        &format!("/api/3/events?plugins={}", every.join(",")),
    );
    let mut live = subscribe(&server, "/api/3/events?plugins=cpu");
    let started = Instant::now();
    let mut seqs = Vec::new();
    // Long enough for the stuck connection's socket buffers to fill and its place in the
    // broadcast to fall behind by more than the buffer.
    while started.elapsed() < Duration::from_secs(25) {
        let tick = read_sse(&mut live, 1, "");
        assert!(
            tick.first().is_some_and(|t| t["type"] != "lagged"),
            "the live subscriber lagged: {tick:?}"
        );
        if let Some(t) = tick.first()
            && t["type"] == "tick"
        {
            seqs.push(t["seq"].as_u64().unwrap_or(0));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Consecutive ticks, at the refresh rate (0.1 s), with slack for a loaded machine.
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(
        seqs.len() as f64 >= elapsed / 0.1 * 0.6,
        "{} ticks in {elapsed:.1} s",
        seqs.len()
    );
    // The stuck subscriber, reading at last, is told it lagged.
    let mut lagged = false;
    let mut buffer = vec![0u8; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut text = Vec::new();
    while !lagged && Instant::now() < deadline {
        let n = stuck.read(&mut buffer).unwrap_or(0);
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buffer[..n]);
        lagged = String::from_utf8_lossy(&text).contains("event: lagged");
        if text.len() > 64 << 20 {
            text.drain(..text.len() - 1024);
        }
    }
    assert!(lagged, "the stuck subscriber was never told it lagged");
}

#[test]
fn alerts_and_plugin_restarts_are_notified() {
    // A logged limit on loopback's receive rate, crossed while the test pushes data through
    // 127.0.0.1 and left when it stops: an alert begins, then ends.
    let config = tmp().join("alert-events.toml");
    std::fs::write(
        &config,
        "[plugins.network]\nhide = []\n\n[limits.network.keys.\"lo\"]\n\
         bytes_recv_rate_per_sec = { careful = 2000000.0, warning = 5000000.0, critical = 10000000.0, log = true }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let panicking = glint_tests::guest(glint::embedded::GUEST_DIR, "panic");
    let server = server(&[
        "-C",
        &config.display().to_string(),
        "--plugin",
        &panicking.display().to_string(),
    ]);
    let mut events = subscribe(&server, "/api/3/events");

    // A plugin that panics on every call is restarted: a `plugin` event says so.
    let restarted = read_until(&mut events, |e| {
        e["type"] == "plugin" && e["plugin"] == "test-panic" && e["status"] == "restarted"
    });
    assert!(
        restarted["restarts"].as_u64().unwrap_or(0) >= 1,
        "{restarted}"
    );
    assert_eq!(restarted["kind"], "input");

    // Load: at least 20 MB/s through loopback for two seconds.
    let sink = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let sink_addr = sink.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let reader = std::thread::spawn(move || {
        if let Ok((mut s, _)) = sink.accept() {
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    let mut source = std::net::TcpStream::connect(sink_addr).unwrap_or_else(|e| panic!("{e}"));
    let chunk = vec![0u8; 1 << 20];
    let pushing = Instant::now();
    while pushing.elapsed() < Duration::from_secs(2) {
        let _ = source.write_all(&chunk);
    }
    drop(source);
    let _ = reader.join();

    let begun = read_until(&mut events, |e| {
        e["type"] == "alert_begin" && e["alert"]["type"] == "NETWORK_BYTES_RECV_RATE_PER_SEC_LO"
    });
    assert_eq!(begun["alert"]["end"], -1, "{begun}");
    let ended = read_until(&mut events, |e| {
        e["type"] == "alert_end" && e["alert"]["type"] == "NETWORK_BYTES_RECV_RATE_PER_SEC_LO"
    });
    assert!(
        ended["alert"]["end"].as_i64().unwrap_or(-1)
            >= begun["alert"]["begin"].as_i64().unwrap_or(0),
        "{ended}"
    );
}

/// Subscribers of everything that never read, over SSE.
const STUCK_SSE: usize = 110;
/// And over the WebSocket.
const STUCK_WS: usize = 10;
/// How long they stay stuck while glint's memory is watched. Without a cap on what glint
/// holds for each, the old server (each subscriber rendering its own copy of every event)
/// filled the kernel's buffers first (~2.8 MB a connection), then hyper's (~400 KB each),
/// then pinned the broadcast's 64 snapshots: past twice its idle RSS after ~30 s here, 3.3x
/// by 50 s. Capped, it levels off at ~1.15x within 10 s. 60 s leaves room for a slow machine.
const STUCK_FOR: Duration = Duration::from_secs(60);
/// What 121 connections cost glint whatever they read: hyper's 8 KB read and write buffers,
/// its task and the subscriber's forwarder, ~30 KB each, 3.6 MB in all; 8 MiB with room for
/// the allocator. Small beside the budget the test is about (idle RSS again, ~40 MB).
const CONNECTIONS_SLACK_KB: u64 = 8 << 10;

/// Clients that subscribe to every plugin and never read cost glint at most its cap each
/// (`[server] subscriber_buffer_kb`): its RSS stays within twice the idle figure, a reading
/// subscriber misses nothing, and a stuck one that reads at last is told what it missed.
#[test]
fn subscribers_that_never_read_hold_glint_to_twice_its_idle_memory() {
    // The shortest refresh: the most bytes a second for the stuck subscribers to fall behind by.
    let server = Server::start(BIN, &tmp(), &["-t", "0.1"], None);
    server.wait_ticks("mem", 3);
    let every = every_plugin(&server);
    let all = format!("/api/3/events?plugins={}", every.join(","));
    // Idle, once a subscriber of everything came and went: the path's one-time costs are in.
    {
        let mut warm = subscribe(&server, &all);
        assert_eq!(read_sse(&mut warm, 3, "tick").len(), 3);
    }
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss_kb(server.pid());
    assert!(idle > 0, "no VmRSS for glint (pid {})", server.pid());

    // A subscriber that reads, opened with the stuck ones and read on a thread meanwhile.
    let live = subscribe(&server, &all);
    let reader = std::thread::spawn(move || read_for(live, STUCK_FOR));
    let (mut stuck, mut ws_stuck) = stuck_subscribers(&server, &every);

    let bound = 2 * idle + CONNECTIONS_SLACK_KB;
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < STUCK_FOR {
        let rss = rss_kb(server.pid());
        samples.push(rss);
        assert!(
            rss <= bound,
            "glint grew from {idle} kB idle to {rss} kB with {} subscribers that never read, \
             over 2 x idle + {CONNECTIONS_SLACK_KB} kB; kB every 0.5 s: {samples:?}",
            STUCK_SSE + STUCK_WS
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "VmRSS idle {idle} kB; with {} stuck subscribers at most {} kB",
        STUCK_SSE + STUCK_WS,
        samples.iter().max().copied().unwrap_or(0)
    );

    let (seqs, others) = reader
        .join()
        .unwrap_or_else(|_| panic!("the reading subscriber's thread panicked"));
    assert!(
        others.iter().all(|e| e["type"] != "lagged"),
        "the reading subscriber lagged: {others:?}"
    );
    assert!(
        seqs.len() >= 50 && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "the reading subscriber's ticks in {STUCK_FOR:?}: {seqs:?}"
    );

    // Stuck ones reading at last: what they were sent, then how many events they missed.
    let mut slow = stuck.swap_remove(1);
    let lagged = read_to_lagged(&mut slow);
    assert!(lagged["missed"].as_u64().is_some_and(|n| n > 0), "{lagged}");
    let ws = ws_stuck
        .first_mut()
        .unwrap_or_else(|| panic!("no WebSocket"));
    let lagged = ws_read_to_lagged(ws);
    assert!(lagged["missed"].as_u64().is_some_and(|n| n > 0), "{lagged}");
}

/// Opens the subscribers that never read: SSE ones, of every plugin and of processlist by
/// turns, and WebSocket ones of every plugin; each with a narrow window (`narrow_connection`).
fn stuck_subscribers(
    server: &Server,
    every: &[String],
) -> (
    Vec<std::net::TcpStream>,
    Vec<tungstenite::WebSocket<std::net::TcpStream>>,
) {
    let all = format!("/api/3/events?plugins={}", every.join(","));
    let sse = (0..STUCK_SSE)
        .map(|i| {
            let url = if i % 2 == 0 {
                all.as_str()
            } else {
                "/api/3/events?plugins=processlist"
            };
            let mut stream = narrow_connection(server.port);
            let _ = write!(stream, "GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            stream
        })
        .collect();
    let ws_url = format!(
        "ws://127.0.0.1:{}/api/3/ws?plugins={}",
        server.port,
        every.join(",")
    );
    let ws = (0..STUCK_WS)
        .map(|_| {
            tungstenite::client(ws_url.as_str(), narrow_connection(server.port))
                .unwrap_or_else(|e| panic!("{ws_url}: {e}"))
                .0
        })
        .collect();
    (sse, ws)
}

/// Reads a WebSocket until its `lagged` message (30 s at most): that message's JSON.
fn ws_read_to_lagged(ws: &mut tungstenite::WebSocket<std::net::TcpStream>) -> Value {
    let _ = ws.get_mut().set_read_timeout(Some(Duration::from_secs(30)));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let message = ws.read().unwrap_or_else(|e| panic!("websocket: {e}"));
        if let tungstenite::Message::Text(text) = message {
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if json["type"] == "lagged" {
                return json;
            }
        }
    }
    panic!("the stuck WebSocket subscriber was never told it lagged");
}

/// glint's resident memory (VmRSS) in kB; a glint that is gone fails the test (its 0 kB
/// would pass any bound).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("glint (pid {pid}) is gone: {e}"))
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("glint (pid {pid}) has no VmRSS line"))
}

/// A connection to glint with a 4 KB receive buffer, set before connecting so that the window
/// it offers is small from the start: a client that does not read takes little into its own
/// kernel, and what glint holds for it shows within seconds.
fn narrow_connection(port: u16) -> std::net::TcpStream {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap_or_else(|e| panic!("socket: {e}"));
    sockopt::set_socket_recv_buffer_size(&fd, 4096).unwrap_or_else(|e| panic!("SO_RCVBUF: {e}"));
    let addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
    rustix::net::connect(&fd, &addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    std::net::TcpStream::from(fd)
}

/// Reads a subscription for `time`: the seqs of its ticks, and its other events.
fn read_for(mut reader: BufReader<std::net::TcpStream>, time: Duration) -> (Vec<u64>, Vec<Value>) {
    let started = Instant::now();
    let (mut seqs, mut others) = (Vec::new(), Vec::new());
    while started.elapsed() < time {
        let events = read_sse(&mut reader, 1, "");
        if events.is_empty() {
            break;
        }
        for event in events {
            if event["type"] == "tick" {
                seqs.push(event["seq"].as_u64().unwrap_or(0));
            } else {
                others.push(event);
            }
        }
    }
    (seqs, others)
}

/// Reads a raw SSE connection until its `lagged` event (30 s at most): that event's JSON.
fn read_to_lagged(stream: &mut std::net::TcpStream) -> Value {
    const MARK: &str = "event: lagged\ndata: ";
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buffer = vec![0u8; 1 << 20];
    let mut text = String::new();
    while Instant::now() < deadline {
        let n = stream.read(&mut buffer).unwrap_or(0);
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        if let Some(start) = text.find(MARK).map(|i| i + MARK.len())
            && let Some(end) = text[start..].find('\n')
        {
            return serde_json::from_str(&text[start..start + end]).unwrap_or(Value::Null);
        }
        // What was sent before it, megabytes of it: keep only a tail a mark may start in.
        if text.len() > 1 << 20 {
            let cut = text.len() - 4096;
            let cut = (cut..text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.drain(..cut);
        }
    }
    panic!("the stuck subscriber was never told it lagged");
}

#[test]
fn subscribers_past_the_most_glint_serves_are_told_503_and_a_closed_one_frees_its_place() {
    let server = server(&[]);
    // glint serves 256 event subscribers at once (server/backlog.rs, MAX_SUBSCRIBERS).
    let mut held: Vec<_> = (0..256)
        .map(|_| subscribe(&server, "/api/3/events?plugins=cpu"))
        .collect();
    let (status, content_type) = glint_tests::api::sse_head(&server, "/api/3/events");
    assert_eq!(status, 503, "the 257th subscriber");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    drop(held.pop());
    // The place comes back once glint sees the connection closed (its next write fails).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = glint_tests::api::sse_head(&server, "/api/3/events?plugins=cpu");
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no place came back: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
