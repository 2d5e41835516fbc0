//! test-readfile: a test guest (not a default plugin) that tries to read files and list
//! directories it was not granted, and reads one it was, for the filesystem sandbox test.

use glint_sdk::prelude::*;

/// Attempts that must fail: (what the outcome calls it, path, list the directory instead).
const FORBIDDEN: &[(&str, &str, bool)] = &[
    ("read /etc/passwd", "/etc/passwd", false),
    ("list /", "/", true),
    ("read /proc/self/environ", "/proc/self/environ", false),
];

#[derive(Default)]
struct ReadFile;

impl InputPlugin for ReadFile {
    fn info() -> PluginInfo {
        plugin(
            "test-readfile",
            "Test guest: tries to read files it was not granted (filesystem sandbox test)",
            Layout::Record,
        )
        .field(field(
            "escaped",
            Unit::None,
            "True if any forbidden read succeeded.",
        ))
        .field(field(
            "controls_ok",
            Unit::None,
            "True unless reading the granted file (setting `granted_file`) failed.",
        ))
        .field(field(
            "outcome",
            Unit::Text,
            "One line per attempt, joined with \"; \".",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let entries = glint_sdk::config();
        let mut report = Report::new();
        for &(what, path, list) in FORBIDDEN {
            let result = if list { list_dir(path) } else { read(path) };
            report.forbidden(what, result);
        }
        if let Some(path) = report.text_setting(&entries, "granted_file") {
            report.control(&format!("read {path}"), read(&path));
        }
        Ok(report.into_table())
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|bytes| format!("{} bytes", bytes.len()))
        .map_err(|e| e.to_string())
}

fn list_dir(path: &str) -> Result<String, String> {
    std::fs::read_dir(path)
        .map(|dir| format!("{} entries", dir.count()))
        .map_err(|e| e.to_string())
}

/// What the attempts came to, as the one row reports it.
struct Report {
    escaped: bool,
    controls_ok: bool,
    lines: Vec<String>,
}

impl Report {
    fn new() -> Self {
        Self {
            escaped: false,
            controls_ok: true,
            lines: Vec::new(),
        }
    }

    /// An attempt the sandbox must refuse: success is an escape.
    fn forbidden(&mut self, what: &str, result: Result<String, String>) {
        if result.is_ok() {
            self.escaped = true;
        }
        self.record(what, result);
    }

    /// An attempt the grant must allow: failure fails the controls.
    fn control(&mut self, what: &str, result: Result<String, String>) {
        if result.is_err() {
            self.controls_ok = false;
        }
        self.record(what, result);
    }

    fn record(&mut self, what: &str, result: Result<String, String>) {
        self.lines.push(match result {
            Ok(detail) => format!("{what}: allowed ({detail})"),
            Err(error) => format!("{what}: denied ({error})"),
        });
    }

    /// A text setting, none when unset. A setting of another type is a broken test set-up:
    /// it is reported and fails the controls.
    fn text_setting(&mut self, entries: &[(String, ConfigValue)], key: &str) -> Option<String> {
        match glint_sdk::config_value(entries, key)? {
            ConfigValue::Text(text) => Some(text),
            _ => {
                self.controls_ok = false;
                self.lines.push(format!("setting {key}: not text"));
                None
            }
        }
    }

    fn into_table(self) -> Table {
        Row::new()
            .set("escaped", self.escaped)
            .set("controls_ok", self.controls_ok)
            .set("outcome", self.lines.join("; "))
            .into_table()
    }
}

glint_sdk::export_input!(ReadFile);
