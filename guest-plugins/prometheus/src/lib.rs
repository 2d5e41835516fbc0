//! prometheus: the output plugin that serves every stats table the host holds as one
//! Prometheus scrape page. The page itself (naming, typing, labels, escaping) is the SDK's
//! `glint_sdk::export::prometheus`, shared with the pushgateway exporter so that both give
//! Prometheus the same series.

use glint_sdk::export::prometheus::{CONTENT_TYPE, exposition};
use glint_sdk::{
    FieldInfo, Layout, PluginInfo, PluginInfoExt, PluginKind, Request, Response, Table, stats,
};

struct Prometheus;

impl glint_sdk::output::Guest for Prometheus {
    fn describe() -> PluginInfo {
        glint_sdk::plugin(
            "prometheus",
            "Every plugin's stats in the Prometheus text exposition format",
            Layout::Record,
        )
        .kind(PluginKind::Output)
    }

    /// Any path answers the same page: a scrape config only needs one URL.
    fn render(_request: Request) -> Result<Response, String> {
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

glint_sdk::output::export_output_world!(Prometheus with_types_in glint_sdk::output);
