//! test-writefile: a test guest (not a default plugin) that writes inside its granted
//! directory and tries to write outside it, for the filesystem sandbox test.

use std::path::Path;

use glint_sdk::prelude::*;

/// What every write puts in its file.
const CONTENT: &[u8] = b"glint-test\n";

#[derive(Default)]
struct WriteFile;

impl InputPlugin for WriteFile {
    fn info() -> PluginInfo {
        plugin(
            "test-writefile",
            "Test guest: tries to write outside its granted directory (filesystem sandbox test)",
            Layout::Record,
        )
        .field(field(
            "escaped",
            Unit::None,
            "True if any forbidden write succeeded.",
        ))
        .field(field(
            "controls_ok",
            Unit::None,
            "True unless writing `inside.txt` in `granted_dir` and reading it back failed.",
        ))
        .field(field(
            "outcome",
            Unit::Text,
            "One line per attempt, joined with \"; \".",
        ))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let entries = glint_sdk::config();
        let mut report = Report::new();
        if let Some(dir) = report.text_setting(&entries, "granted_dir") {
            let inside = Path::new(&dir).join("inside.txt");
            report.control(
                &format!("write {}", inside.display()),
                write_and_read_back(&inside),
            );
            let outside = Path::new(&dir).join("..").join("outside.txt");
            report.forbidden(&format!("write {}", outside.display()), write(&outside));
        }
        let tmp = format!("/tmp/glint-escape-{}.txt", tick.seq);
        report.forbidden(&format!("write {tmp}"), write(Path::new(&tmp)));
        report.forbidden("write escape.txt", write(Path::new("escape.txt")));
        Ok(report.into_table())
    }
}

fn write(path: &Path) -> Result<String, String> {
    std::fs::write(path, CONTENT)
        .map(|()| format!("{} bytes", CONTENT.len()))
        .map_err(|e| e.to_string())
}

fn write_and_read_back(path: &Path) -> Result<String, String> {
    std::fs::write(path, CONTENT).map_err(|e| format!("write: {e}"))?;
    let back = std::fs::read(path).map_err(|e| format!("read back: {e}"))?;
    if back == CONTENT {
        Ok(format!("{} bytes written and read back", CONTENT.len()))
    } else {
        Err(format!("read back {} different bytes", back.len()))
    }
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

glint_sdk::export_input!(WriteFile);
