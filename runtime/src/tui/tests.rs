//! Whole frames drawn from a fixed `/api/3/all` body (fixture.json, trimmed from a real glint):
//! insta snapshots of the text, colour checks of decorated cells, and sizes and shapes that
//! must not panic.

use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use serde_json::{Value, json};

use super::app::App;
use super::draw;
use super::input::{Input, Options};
use super::model::{PluginStatus, Stats};

/// The body of `GET /api/3/all` the tests draw.
pub(crate) const FIXTURE: &str = include_str!("fixture.json");

pub(crate) fn fixture_stats() -> Stats {
    let envelope: Value = serde_json::from_str(FIXTURE).expect("fixture.json parses");
    Stats::from_envelope(&envelope).expect("fixture.json is an /api/3/all body")
}

/// An App showing the fixture, alert times in UTC so snapshots agree in every zone.
pub(crate) fn fixture_app() -> App {
    let mut app = App::new(Options::default());
    app.tz = TimeZone::UTC;
    app.stats = Some(fixture_stats());
    app
}

fn render(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| draw::draw(frame, app))
        .expect("TestBackend draws");
    terminal.backend().buffer().clone()
}

/// The buffer's text, a line per row.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .filter_map(|x| buffer.cell((x, y)))
                .map(|cell| cell.symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn snapshot(app: &App, width: u16, height: u16) -> String {
    text(&render(app, width, height))
}

/// Where `needle` starts on screen (the first match, row by row).
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buffer);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return (
                u16::try_from(x).expect("on screen"),
                u16::try_from(y).expect("on screen"),
            );
        }
    }
    panic!("{needle:?} is not on screen:\n{screen}");
}

fn plugin(name: &str, status: &str, errors: u64, memory: Option<u64>) -> PluginStatus {
    PluginStatus {
        name: name.to_string(),
        kind: "input".to_string(),
        status: status.to_string(),
        calls: 1234,
        errors,
        restarts: errors / 2,
        last_call_micros: 850 + errors * 10_000,
        memory_bytes: memory,
        ..PluginStatus::default()
    }
}

#[test]
fn frame_80x24() {
    insta::assert_snapshot!("frame_80x24", snapshot(&fixture_app(), 80, 24));
}

#[test]
fn frame_200x50() {
    insta::assert_snapshot!("frame_200x50", snapshot(&fixture_app(), 200, 50));
}

#[test]
fn frame_help_80x24() {
    let mut app = fixture_app();
    app.help = true;
    insta::assert_snapshot!("frame_help_80x24", snapshot(&app, 80, 24));
}

#[test]
fn frame_percpu_200x50() {
    let mut app = fixture_app();
    app.percpu = true;
    insta::assert_snapshot!("frame_percpu_200x50", snapshot(&app, 200, 50));
}

#[test]
fn frame_percpu_80x24() {
    // No room for the quick look: the per-CPU bars take the CPU block's place.
    let mut app = fixture_app();
    app.percpu = true;
    insta::assert_snapshot!("frame_percpu_80x24", snapshot(&app, 80, 24));
}

#[test]
fn frame_plugins_80x24() {
    let mut app = fixture_app();
    app.plugins_panel = true;
    if let Some(stats) = app.stats.as_mut() {
        stats.plugins = vec![
            plugin("cpu", "running", 0, Some(1_268_000)),
            plugin("processlist", "restarting", 3, Some(4_500_000)),
            plugin("sensors", "quarantined", 12, None),
        ];
    }
    insta::assert_snapshot!("frame_plugins_80x24", snapshot(&app, 80, 24));
}

fn press(app: &mut App, code: KeyCode) -> bool {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn frame_filtered_bits_selected_120x30() {
    // A filter (its line above the heads), network in bits, a selected row, cleared warnings.
    let mut app = fixture_app();
    press(&mut app, KeyCode::Char('/'));
    for c in "^[bc]".chars() {
        assert!(press(&mut app, KeyCode::Char(c)));
    }
    press(&mut app, KeyCode::Enter);
    for code in [
        KeyCode::Char('b'),
        KeyCode::Char('w'),
        KeyCode::Down,
        KeyCode::Down,
    ] {
        assert!(press(&mut app, code));
    }
    assert_eq!(app.processes().len(), 3);
    insta::assert_snapshot!(
        "frame_filtered_bits_selected_120x30",
        snapshot(&app, 120, 30)
    );
}

#[test]
fn frame_prompt_error_80x24() {
    let mut app = fixture_app();
    app.prompt = Some(super::app::Prompt {
        text: "glint(".to_string(),
        error: Some("invalid regex: unclosed group".to_string()),
    });
    insta::assert_snapshot!("frame_prompt_error_80x24", snapshot(&app, 80, 24));
}

#[test]
fn frame_disconnected_client_80x24() {
    let mut app = App::new(Options {
        title_source: Some("server.example:61208".to_string()),
    });
    app.tz = TimeZone::UTC;
    app.handle_input(Input::Stats(Box::new(fixture_stats())));
    app.handle_input(Input::Disconnected("connection refused".to_string()));
    let buffer = render(&app, 80, 24);
    let (x, y) = find(&buffer, "Disconnected from server.example:61208");
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    insta::assert_snapshot!("frame_disconnected_client_80x24", text(&buffer));
}

#[test]
fn frame_waiting_80x24() {
    let app = App::new(Options {
        title_source: Some("server.example:61208".to_string()),
    });
    insta::assert_snapshot!("frame_waiting_80x24", snapshot(&app, 80, 24));
}

#[test]
fn frame_10x5() {
    insta::assert_snapshot!("frame_10x5", snapshot(&fixture_app(), 10, 5));
}

#[test]
fn decorations_colour_their_values() {
    let buffer = render(&fixture_app(), 80, 24);
    let fg = |needle: &str| {
        let (x, y) = find(&buffer, needle);
        (buffer[(x, y)].fg, buffer[(x, y)].modifier)
    };
    // CAREFUL: cpu total. WARNING: mem percent. CRITICAL: /boot is 93.1% full.
    assert_eq!(fg("68.2%"), (draw::CAREFUL_COLOR, Modifier::empty()));
    assert_eq!(fg("72.4%"), (Color::Magenta, Modifier::empty()));
    assert_eq!(fg("93.1%"), (Color::Red, Modifier::empty()));
    // OK: the 1-minute load; OK_LOG (the swap percent) looks the same.
    assert_eq!(fg("2.73"), (Color::Green, Modifier::empty()));
    assert_eq!(fg("25.0%"), (Color::Green, Modifier::empty()));
    // CRITICAL_LOG: glint's CPU%, reversed like Glances' coloured background.
    assert_eq!(fg("95.3"), (Color::Red, Modifier::REVERSED));
    // WARNING and CAREFUL in the process list, DEFAULT (cpu idle) uncoloured.
    assert_eq!(fg("78.2"), (Color::Magenta, Modifier::empty()));
    assert_eq!(fg("55.1"), (draw::CAREFUL_COLOR, Modifier::empty()));
    assert_eq!(fg("31.8%"), (Color::Reset, Modifier::empty()));
    // The ongoing alert's type in its state's colour.
    assert_eq!(fg("MEM_PERCENT"), (Color::Magenta, Modifier::empty()));
}

#[test]
fn the_selected_row_is_highlighted() {
    let mut app = fixture_app();
    app.selected = Some(1);
    let buffer = render(&app, 200, 50);
    // Sorted by MEM (the ongoing alert): postgres, then java.
    let (_, java) = find(&buffer, "/usr/share/elasticsearch");
    let (_, postgres) = find(&buffer, "/usr/lib/postgresql");
    let (x, _) = find(&buffer, "PID");
    assert!(buffer[(x, java)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(x, postgres)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn narrow_and_wide_screens_show_what_fits() {
    let narrow = snapshot(&fixture_app(), 80, 24);
    let wide = snapshot(&fixture_app(), 200, 50);
    let heads = |screen: &str| {
        let line = screen.lines().find(|line| line.contains("Command"));
        line.map(str::to_string).unwrap_or_default()
    };
    // At 80 columns: no quick look, no I/O, thread or TIME+ columns; the command is cut.
    let narrow_heads = heads(&narrow);
    for head in ["CPU%", "MEM%", "RES", "PID", "USER", "S"] {
        assert!(
            narrow_heads.contains(head),
            "{head} missing: {narrow_heads}"
        );
    }
    for head in ["VIRT", "THR", "NI", "TIME+", "R/s", "W/s"] {
        assert!(
            !narrow_heads.contains(head),
            "{head} at 80 columns: {narrow_heads}"
        );
    }
    assert!(!narrow.contains("MEM  ["));
    assert!(narrow.contains("TASKS 66 (111 thr), 1 run, 28 slp, 37 oth"));
    assert!(narrow.contains("sorted automatically by MEM"));
    // Wider: every column, the bars, more of the command line.
    let wide_heads = heads(&wide);
    for head in ["VIRT", "THR", "NI", "TIME+", "R/s", "W/s"] {
        assert!(wide_heads.contains(head), "{head} missing: {wide_heads}");
    }
    assert!(wide.contains("MEM  [|"));
    assert!(wide.contains("/usr/share/elasticsearch/jdk/bin/java -Xms4g -Xmx4g"));
    assert!(!narrow.contains("-Xms4g"));
    // The alerts log, times in UTC.
    assert!(narrow.contains("2026-12-01 20:06:40 (ongoing) - MEM_PERCENT"));
    assert!(wide.contains("2026-12-01 20:01:40 (0:02:05) - CRITICAL on CPU_TOTAL"));
}

#[test]
fn no_alert_says_so() {
    let mut app = fixture_app();
    let mut envelope: Value = serde_json::from_str(FIXTURE).expect("fixture parses");
    envelope["stats"][0]["alert"] = json!([]);
    app.stats = Some(Stats::from_envelope(&envelope).expect("envelope"));
    assert!(snapshot(&app, 80, 24).contains("No warning or critical alert detected"));
}

#[test]
fn every_size_draws_without_panic() {
    let mut app = fixture_app();
    if let Some(stats) = app.stats.as_mut() {
        stats.plugins = vec![plugin("cpu", "running", 0, None)];
    }
    let widths = [
        1, 2, 10, 40, 59, 60, 61, 79, 80, 81, 99, 100, 117, 118, 134, 150, 200, 400,
    ];
    let heights = [1, 2, 5, 15, 16, 17, 23, 24, 25, 50, 120];
    for (help, percpu) in [(false, false), (true, true), (false, true)] {
        app.help = help;
        app.plugins_panel = help;
        app.percpu = percpu;
        app.selected = Some(11);
        for width in widths {
            for height in heights {
                let buffer = render(&app, width, height);
                assert_eq!(buffer.area.width, width);
            }
        }
    }
}

/// Stats of every plugin in shapes no server should send: wrong types, nulls, huge and
/// negative numbers, control characters, wide characters.
fn weird_plugins() -> Vec<(&'static str, Value)> {
    let processes = vec![
        json!(null),
        json!(3),
        json!({"pid": i64::MAX, "cmdline": [1, "x", null], "time_since_update": 1e-300,
               "io_counters": [1e308, -1e308, 0, 0, 1]}),
        json!({"pid": 5, "cpu_times": {"user": f64::MAX, "system": f64::MAX}}),
        json!({"pid": "x", "name": ["x"], "cmdline": "漢字漢字漢字漢字漢字漢字"}),
        json!({"cpu_percent": -5, "memory_percent": 1e300, "nice": 1.5}),
        json!({"memory_info": {"rss": "x", "vms": -1}, "username": "\u{1b}[31mred"}),
    ];
    let alerts = vec![
        json!(1),
        json!({"begin": i64::MIN, "end": i64::MAX, "min": "x"}),
        json!({"begin": "x", "end": -1, "state": 5, "type": null, "top": [1, null]}),
        json!({"begin": 1e300, "end": -1e300, "min": 1, "avg": 2, "max": 3, "top": "glint"}),
    ];
    vec![
        ("system", json!("x")),
        ("uptime", json!(5)),
        ("now", json!([1])),
        ("ip", json!({"address": 7, "mask_cidr": "x"})),
        (
            "quicklook",
            json!({"cpu": "high", "percpu": ["a", null, 500.0, -3]}),
        ),
        (
            "cpu",
            json!({"total": null, "user": "x", "ctx_switches_rate_per_sec": -1e308}),
        ),
        (
            "percpu",
            json!([1, {"cpu_number": "x", "total": 1e300}, {"idle": 250}]),
        ),
        ("mem", json!([1, 2])),
        ("memswap", json!("none")),
        ("load", json!({"min1": "x", "cpucore": -2})),
        (
            "network",
            json!([1, "x", null, {"interface_name": 5, "bytes_recv_rate_per_sec": "x"}]),
        ),
        (
            "diskio",
            json!([{"disk_name": "d".repeat(300), "read_bytes_rate_per_sec": f64::MAX}]),
        ),
        (
            "fs",
            json!([{"mnt_point": null, "percent": 1e9, "size": -5}]),
        ),
        (
            "raid",
            json!([{"name": "md0", "status": 3, "used": "x"}, {"status": "inactive"}]),
        ),
        (
            "sensors",
            json!([{"label": "t\u{0}\t", "value": "hot"}, {"value": 1e20, "critical": 5}]),
        ),
        (
            "processcount",
            json!({"total": i64::MAX, "running": i64::MIN, "pid_max": -7}),
        ),
        ("processlist", Value::Array(processes)),
        ("alert", Value::Array(alerts)),
    ]
}

#[test]
fn any_json_shape_draws_without_panic() {
    let stats: serde_json::Map<String, Value> = weird_plugins()
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    let views = json!({
        "cpu": {"total": {"decoration": 5}, "user": "CRITICAL"},
        "processlist": {"not": "a list"},
        "fs": [{"percent": {"decoration": "CRITICAL_LOG_LOG"}}],
        "network": [null, [], {"bytes_recv_rate_per_sec": {"decoration": "WARNING"}}]
    });
    let envelopes = [
        json!({"stats": {}}),
        json!({"stats": [Value::Object(stats.clone())], "views": [views]}),
        json!({"stats": [Value::Object(stats)], "views": "none"}),
    ];
    for envelope in envelopes {
        let stats = Stats::from_envelope(&envelope).expect("an object with stats");
        let mut app = fixture_app();
        app.stats = Some(stats);
        app.selected = Some(3);
        for (width, height) in [(80, 24), (200, 50), (60, 16), (10, 5)] {
            for percpu in [false, true] {
                app.percpu = percpu;
                render(&app, width, height);
            }
        }
        for key in ['c', 'm', 'i', 'p', 't', 'u', 'N', 'w', 'x'] {
            press(&mut app, KeyCode::Char(key));
            render(&app, 80, 24);
        }
    }
}
