//! test-writefile: a test guest (not a default plugin) that writes inside its granted
//! directory and tries to write outside it, for the filesystem sandbox test.

use std::path::Path;

use glint_sdk::prelude::*;
use glint_test_attack::{Report, report_fields};

/// What every write puts in its file.
const CONTENT: &[u8] = b"glint-test\n";

#[derive(Default)]
struct WriteFile;

impl InputPlugin for WriteFile {
    fn info() -> PluginInfo {
        let info = plugin(
            "test-writefile",
            "Test guest: tries to write outside its granted directory (filesystem sandbox test)",
            Layout::Record,
        );
        report_fields(
            info,
            "True if any forbidden write succeeded.",
            "True unless writing `inside.txt` in `granted_dir` and reading it back failed.",
            "attempt",
        )
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

glint_sdk::export_input!(WriteFile);
