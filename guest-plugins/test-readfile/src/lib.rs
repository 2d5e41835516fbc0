//! test-readfile: a test guest (not a default plugin) that tries to read files and list
//! directories it was not granted, and reads one it was, for the filesystem sandbox test.

use glint_sdk::prelude::*;
use glint_test_attack::{Report, report_fields};

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
        let info = plugin(
            "test-readfile",
            "Test guest: tries to read files it was not granted (filesystem sandbox test)",
            Layout::Record,
        );
        report_fields(
            info,
            "True if any forbidden read succeeded.",
            "True unless reading the granted file (setting `granted_file`) failed.",
            "attempt",
        )
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

glint_sdk::export_input!(ReadFile);
