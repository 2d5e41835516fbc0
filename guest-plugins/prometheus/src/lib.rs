//! prometheus: the output plugin that serves every stats table the host holds as one
//! Prometheus scrape page. The page itself (naming, typing, labels, escaping) is the SDK's
//! `glint_sdk::export::prometheus`, shared with the pushgateway exporter so that both give
//! Prometheus the same series.

use glint_sdk::export::prometheus::{CONTENT_TYPE, exposition};
use glint_sdk::{FieldInfo, OutputPlugin, PluginInfo, Request, Response, Table, stats};

#[derive(Default)]
struct Prometheus;

impl OutputPlugin for Prometheus {
    fn info() -> PluginInfo {
        glint_sdk::output(
            "prometheus",
            "Every plugin's stats in the Prometheus text exposition format",
        )
    }

    /// Any path answers the same page: a scrape config only needs one URL.
    fn render(&mut self, _request: &Request) -> Result<Response, String> {
        let plugins: Vec<(String, Table, Vec<FieldInfo>)> = stats::plugins()
            .into_iter()
            .filter_map(|name| {
                let table = stats::latest(&name)?;
                let fields = stats::fields(&name);
                Some((name, table, fields))
            })
            .collect();
        Ok(Response {
            status: 200,
            content_type: CONTENT_TYPE.to_string(),
            body: exposition(&plugins).into_bytes(),
        })
    }
}

glint_sdk::export_output!(Prometheus);
