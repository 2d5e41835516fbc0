//! test-output: a test guest (not a default plugin) of the output world that answers a
//! request with the names of the plugins with stats, one per line; and, for the hostile-plugin
//! tests, what an output plugin must not get through: `status/N` answers status N with a body
//! (`status/N/empty`: without), `bytes/N` a body of N bytes, `log` logs a message that
//! forges a line of glint's own log, and `panic` panics with it (glint logs the trap, quoting
//! the panic message).

use glint_sdk::input::glint::plugin::log::Level;
use glint_sdk::{OutputPlugin, PluginInfo, Request, Response, stats};

/// What `log` logs: a newline, then a line made to look like glint's own (timestamp, level,
/// target), then a terminal escape that erases the line it is on.
pub const FORGED: &str = "test-output was asked to log\n\
    2030-01-01T00:00:00.000000Z ERROR glint::monitor: forged by test-output\r\x1b[2K";

#[derive(Default)]
struct TestOutput;

impl OutputPlugin for TestOutput {
    fn info() -> PluginInfo {
        glint_sdk::output(
            "test-output",
            "Test guest: lists the plugins with stats, one per line",
        )
    }

    fn render(&mut self, request: &Request) -> Result<Response, String> {
        let parts: Vec<&str> = request.path.split('/').collect();
        let (status, body) = match parts.as_slice() {
            ["status", code] => (number(code)?, format!("status {code}\n").into_bytes()),
            ["status", code, "empty"] => (number(code)?, Vec::new()),
            ["bytes", n] => (200, vec![b'x'; number(n)?]),
            ["log"] => {
                glint_sdk::log(Level::Warn, FORGED);
                (200, b"logged\n".to_vec())
            }
            ["panic"] => panic!("{FORGED}"),
            _ => (200, plugin_lines(&stats::plugins()).into_bytes()),
        };
        Ok(Response {
            status,
            content_type: "text/plain; charset=utf-8".to_string(),
            body,
        })
    }
}

/// A number from the request's path.
fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number for this test guest"))
}

/// One name per line.
fn plugin_lines(names: &[String]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

glint_sdk::export_output!(TestOutput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_plugin_per_line() {
        assert_eq!(plugin_lines(&["cpu".into(), "mem".into()]), "cpu\nmem\n");
        assert_eq!(plugin_lines(&[]), "");
    }
}
