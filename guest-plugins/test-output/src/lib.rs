//! test-output: a test guest (not a default plugin) of the output world that answers any
//! request with the names of the plugins with stats, one per line.

use glint_sdk::{Layout, PluginInfo, PluginInfoExt, PluginKind, Request, Response, stats};

struct TestOutput;

impl glint_sdk::output::Guest for TestOutput {
    fn describe() -> PluginInfo {
        glint_sdk::plugin(
            "test-output",
            "Test guest: lists the plugins with stats, one per line",
            Layout::Record,
        )
        .kind(PluginKind::Output)
    }

    fn render(_request: Request) -> Result<Response, String> {
        Ok(Response {
            status: 200,
            content_type: "text/plain; charset=utf-8".to_string(),
            body: plugin_lines(&stats::plugins()).into_bytes(),
        })
    }
}

/// One name per line.
fn plugin_lines(names: &[String]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

glint_sdk::output::export_output_world!(TestOutput with_types_in glint_sdk::output);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_plugin_per_line() {
        assert_eq!(plugin_lines(&["cpu".into(), "mem".into()]), "cpu\nmem\n");
        assert_eq!(plugin_lines(&[]), "");
    }
}
