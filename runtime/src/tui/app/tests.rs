//! The key handling: sorting, filtering, toggles, alerts clearing, selection, quitting.

use ratatui::crossterm::event::KeyEventState;
use serde_json::json;

use super::*;

fn app() -> App {
    crate::tui::tests::fixture_app()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App, c: char) -> bool {
    app.handle_key(key(KeyCode::Char(c)))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, c));
    }
}

fn names(app: &App) -> Vec<String> {
    app.processes()
        .iter()
        .map(|(_, p)| model::text(p, "name").unwrap_or("?").to_string())
        .collect()
}

fn first(app: &App) -> String {
    names(app).into_iter().next().unwrap_or_default()
}

#[test]
fn sort_keys_reorder_the_list() {
    let mut app = app();
    press(&mut app, 'c');
    assert_eq!(app.sort_key(), SortKey::Cpu);
    assert_eq!(names(&app)[..3], ["glint", "cc1", "java"]);
    press(&mut app, 'm');
    assert_eq!(names(&app)[..3], ["postgres", "java", "cc1"]);
    press(&mut app, 'p');
    assert_eq!(names(&app)[..3], ["bash", "cc1", "curl"]);
    press(&mut app, 'N');
    assert_eq!(app.sort_key(), SortKey::Pid);
    let pids: Vec<i64> = app
        .processes()
        .iter()
        .filter_map(|(_, p)| model::int(p, "pid"))
        .collect();
    assert_eq!(pids[..3], [1, 38, 79]);
    press(&mut app, 't');
    assert_eq!(first(&app), "java");
    press(&mut app, 'u');
    assert_eq!(first(&app), "bash"); // alice's, pid 1103 before 3001 and 18402
    press(&mut app, 'i');
    // glint reads 5 MiB/s; postgres writes 2 MiB/s.
    assert_eq!(names(&app)[..2], ["glint", "postgres"]);
}

#[test]
fn automatic_sort_follows_the_ongoing_alert() {
    let mut app = app();
    // The fixture's ongoing alert is MEM_PERCENT.
    assert_eq!(app.sort, None);
    assert_eq!(app.sort_key(), SortKey::Mem);
    assert_eq!(first(&app), "postgres");
    press(&mut app, 'c');
    press(&mut app, 'a');
    assert_eq!(app.sort, None);
    assert_eq!(app.sort_key(), SortKey::Mem);
    // Without an ongoing alert: CPU.
    let mut envelope: Value =
        serde_json::from_str(crate::tui::tests::FIXTURE).expect("fixture parses");
    envelope["stats"][0]["alert"] = json!([{"end": 5, "type": "MEM_PERCENT"}]);
    let stats = Stats::from_envelope(&envelope).expect("envelope");
    assert!(app.handle_input(Input::Stats(Box::new(stats))));
    assert_eq!(app.sort_key(), SortKey::Cpu);
    assert_eq!(first(&app), "glint");
    envelope["stats"][0]["alert"] = json!([{"end": -1, "type": "CPU_IOWAIT"}]);
    let stats = Stats::from_envelope(&envelope).expect("envelope");
    app.handle_input(Input::Stats(Box::new(stats)));
    assert_eq!(app.sort_key(), SortKey::Io);
}

#[test]
fn the_filter_narrows_by_name_or_command_line() {
    let mut app = app();
    assert_eq!(app.processes().len(), 12);
    press(&mut app, '/');
    assert!(app.prompt.is_some());
    type_text(&mut app, "post");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.prompt.is_none());
    assert_eq!(names(&app), ["postgres"]);
    // The command line counts: java's mentions elasticsearch.
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.prompt.as_ref().map(|p| p.text.as_str()), Some("post"));
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
    }
    type_text(&mut app, "Elastic|^cc");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(names(&app), ["java", "cc1"]);
    // An empty filter clears it.
    press(&mut app, '/');
    for _ in 0.."Elastic|^cc".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    app.handle_key(key(KeyCode::Enter));
    assert!(app.filter.is_none());
    assert_eq!(app.processes().len(), 12);
}

#[test]
fn an_invalid_regex_is_reported_in_the_prompt() {
    let mut app = app();
    press(&mut app, '/');
    type_text(&mut app, "glint(");
    assert!(app.handle_key(key(KeyCode::Enter)));
    let prompt = app.prompt.clone().expect("the prompt stays open");
    let error = prompt.error.expect("an error");
    assert!(error.starts_with("invalid regex: "), "{error}");
    assert!(error.contains("unclosed group"), "{error}");
    assert!(!error.contains('\n'));
    assert!(app.filter.is_none());
    // Typing clears the error; Esc leaves without touching the filter.
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.prompt.as_ref().and_then(|p| p.error.clone()), None);
    app.handle_key(key(KeyCode::Esc));
    assert!(app.prompt.is_none());
    assert!(app.filter.is_none());
}

#[test]
fn keys_typed_in_the_prompt_are_text() {
    let mut app = app();
    press(&mut app, '/');
    // `q` would quit and `c` sort outside the prompt.
    assert!(press(&mut app, 'q'));
    assert!(press(&mut app, 'c'));
    assert_eq!(app.prompt.as_ref().map(|p| p.text.as_str()), Some("qc"));
    assert_eq!(app.sort, None);
    // Ctrl-C still quits.
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!app.handle_key(ctrl_c));
}

/// Presses `c` twice: the flag `read` shows must flip, then flip back.
fn flips(app: &mut App, c: char, read: fn(&App) -> bool) {
    let before = read(app);
    assert!(press(app, c));
    assert_eq!(read(app), !before, "key {c}");
    press(app, c);
    assert_eq!(read(app), before, "key {c} twice");
}

#[test]
fn toggles_flip() {
    let mut app = app();
    assert!(app.show.diskio && app.show.network && app.show.fs && app.show.sensors);
    flips(&mut app, 'd', |a| a.show.diskio);
    flips(&mut app, 'n', |a| a.show.network);
    flips(&mut app, 'f', |a| a.show.fs);
    flips(&mut app, 's', |a| a.show.sensors);
    flips(&mut app, 'l', |a| a.show.alerts);
    flips(&mut app, '1', |a| a.percpu);
    flips(&mut app, 'b', |a| a.bits);
    flips(&mut app, 'h', |a| a.help);
    flips(&mut app, 'P', |a| a.plugins_panel);
}

#[test]
fn quitting() {
    let mut app = app();
    assert!(!press(&mut app, 'q'));
    assert!(!app.handle_key(key(KeyCode::Esc)));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!app.handle_key(ctrl_c));
    // Esc first closes an overlay.
    press(&mut app, 'h');
    assert!(app.handle_key(key(KeyCode::Esc)));
    assert!(!app.help);
    // Key releases (kitty protocol, Windows) do nothing.
    let release = KeyEvent::new_with_kind_and_state(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
        KeyEventState::NONE,
    );
    assert!(app.handle_key(release));
}

#[test]
fn w_clears_finished_warnings_and_x_every_finished_alert() {
    let mut app = app();
    let states = |app: &App| -> Vec<String> {
        app.alerts()
            .iter()
            .map(|a| model::text(a, "type").unwrap_or("?").to_string())
            .collect()
    };
    assert_eq!(states(&app), ["MEM_PERCENT", "CPU_TOTAL", "CPU_USER"]);
    press(&mut app, 'w');
    // CPU_USER was a finished warning; the critical one and the ongoing one stay.
    assert_eq!(states(&app), ["MEM_PERCENT", "CPU_TOTAL"]);
    press(&mut app, 'x');
    assert_eq!(states(&app), ["MEM_PERCENT"]);
    // An alert finishing later shows again.
    let later = json!({"end": 1_796_160_000, "state": "WARNING", "type": "LOAD"});
    assert!(!app.alert_cut.hides(&later));
}

#[test]
fn arrows_move_the_selection_within_the_list() {
    let mut app = app();
    app.page = 5;
    assert_eq!(app.selected, None);
    app.handle_key(key(KeyCode::Down));
    assert_eq!(app.selected, Some(0));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(app.selected, Some(1));
    app.handle_key(key(KeyCode::Up));
    app.handle_key(key(KeyCode::Up));
    assert_eq!(app.selected, Some(0));
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.selected, Some(5));
    app.handle_key(key(KeyCode::End));
    assert_eq!(app.selected, Some(11));
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.selected, Some(11));
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(app.selected, Some(6));
    app.handle_key(key(KeyCode::Home));
    assert_eq!(app.selected, Some(0));
    // A filter leaving fewer rows pulls the highlight onto the last one.
    app.handle_key(key(KeyCode::End));
    press(&mut app, '/');
    type_text(&mut app, "^c");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.processes().len(), 2);
    assert_eq!(app.selected, Some(1));
}

#[test]
fn feed_inputs_update_the_state() {
    let mut app = app();
    assert!(app.handle_input(Input::Disconnected("connection refused".into())));
    assert_eq!(app.disconnected.as_deref(), Some("connection refused"));
    assert!(app.handle_input(Input::Resize));
    let stats = crate::tui::tests::fixture_stats();
    assert!(app.handle_input(Input::Stats(Box::new(stats))));
    assert_eq!(app.disconnected, None);
}

#[test]
fn any_shape_of_process_list_sorts_without_panic() {
    let mut app = app();
    let envelope = json!({"stats": {"processlist": [
        1, null, {"name": 5}, {"cpu_percent": "x", "pid": "y"}, {"name": "z", "pid": 3}
    ]}});
    let stats = Stats::from_envelope(&envelope).expect("envelope");
    app.handle_input(Input::Stats(Box::new(stats)));
    for c in ['c', 'm', 'i', 'p', 't', 'u', 'N', 'a'] {
        press(&mut app, c);
        assert_eq!(app.processes().len(), 3, "key {c}");
    }
    press(&mut app, '/');
    type_text(&mut app, "z");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.processes().len(), 1);
}
