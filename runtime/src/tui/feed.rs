//! Where the terminal UI's stats come from: this process's own ticks (standalone), or a remote
//! glint's APIv3 (client mode, `glint -c HOST`), redrawn on each tick of its notification
//! stream and reconnected by itself when the server goes away.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::Sender;
use std::time::Duration;

use serde_json::Value;

use super::input::Input;
use super::model::{PluginStatus, Stats};
use crate::stats::render;
use crate::stats::snapshot::Snapshot;
use crate::stats::store::Store;

/// The UI's stats for one of this process's snapshots: the same JSON a client gets from
/// `/api/3/all`, so both modes draw from one model.
pub fn local_stats(snapshot: &Snapshot, store: &Store) -> Option<Stats> {
    let object = |value| match value {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let stats = object(serde_json::to_value(render::AllJson(snapshot)))?;
    let views = object(serde_json::to_value(render::AllViews {
        snapshot,
        limits: &store.limits,
    }))?;
    let mut stats = Stats::from_parts(stats, views);
    stats.plugins = store.plugins();
    Some(stats)
}

/// A remote glint server, as `-c HOST[:PORT]` names it.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `host:port`, for the header and error messages.
    pub address: String,
    /// `user:password` for HTTP basic auth.
    pub credentials: Option<(String, String)>,
}

/// How long a request may take before the server counts as gone: a glint answers from its
/// published snapshot in under a millisecond, so 5 s is a dead or unreachable server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the notification stream may stay silent: the server sends a tick every refresh
/// (at most 60 s apart, the config's bound) and a keep-alive comment every 15 s, so 70 s of
/// nothing is a server that hung.
const STREAM_SILENCE: Duration = Duration::from_secs(70);

/// Waits between reconnection attempts: 1 s first, doubling to 5 s, so a restarted server is
/// back on screen within seconds without hammering one that is down.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(5);

impl Remote {
    /// `HOST`, `HOST:PORT` or `[v6]:PORT`; without a port, `default_port` (the config's
    /// `[server] port`: Glances' 61208 unless changed).
    pub fn parse(
        target: &str,
        credentials: Option<(String, String)>,
        default_port: u16,
    ) -> Result<Remote, String> {
        let target = target.trim();
        let target = target
            .strip_prefix("http://")
            .unwrap_or(target)
            .trim_end_matches('/');
        if target.is_empty() || target.contains(['/', ' ', '@']) {
            return Err(format!(
                "-c {target:?}: give the server as HOST or HOST:PORT, e.g. -c 192.0.2.7:61208"
            ));
        }
        let has_port = match target.rsplit_once(':') {
            // `[::1]:61208` or `host:61208`; a bare IPv6 address has more than one colon.
            Some((host, port)) if host.starts_with('[') || !host.contains(':') => {
                port.parse::<u16>()
                    .map_err(|_| format!("-c {target}: {port:?} is not a port number (1-65535)"))?;
                true
            }
            _ => false,
        };
        let address = match (has_port, target.contains(':')) {
            (true, _) => target.to_string(),
            (false, true) => format!("[{target}]:{default_port}"),
            (false, false) => format!("{target}:{default_port}"),
        };
        Ok(Remote {
            address,
            credentials,
        })
    }

    /// GET `path`; `whole` bounds the whole exchange (not for the endless event stream).
    fn get(
        &self,
        agent: &ureq::Agent,
        path: &str,
        whole: Option<Duration>,
    ) -> Result<ureq::Response, String> {
        let mut request = agent.get(&format!("http://{}{path}", self.address));
        if let Some(timeout) = whole {
            request = request.timeout(timeout);
        }
        if let Some((user, password)) = &self.credentials {
            request = request.set(
                "Authorization",
                &crate::settings::auth::basic_header(user, password),
            );
        }
        request.call().map_err(|e| match e {
            ureq::Error::Status(401, _) => match &self.credentials {
                Some((user, _)) => format!(
                    "the server refused user {user:?} with this password: check --username and the password"
                ),
                None => "the server wants a password: give --username and --password".to_string(),
            },
            ureq::Error::Status(code, response) => {
                let message = response
                    .into_json::<Value>()
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_string))
                    .unwrap_or_default();
                format!(
                    "HTTP {code} for {path}: {message}; is {} a glint -s (APIv3)?",
                    self.address
                )
            }
            ureq::Error::Transport(t) => t.to_string(),
        })
    }

    /// The server's stats now, with its plugins' health when it reports them.
    fn fetch(&self, agent: &ureq::Agent) -> Result<Stats, String> {
        let body: Value = self
            .get(agent, "/api/3/all", Some(REQUEST_TIMEOUT))?
            .into_json()
            .map_err(|e| format!("/api/3/all is not JSON: {e}"))?;
        let mut stats = Stats::from_envelope(&body).map_err(|e| format!("/api/3/all: {e}"))?;
        // An older server has no /api/3/plugins: the panel is then empty, the rest works.
        stats.plugins = self
            .get(agent, "/api/3/plugins", Some(REQUEST_TIMEOUT))
            .ok()
            .and_then(|r| r.into_json::<Vec<PluginStatus>>().ok())
            .unwrap_or_default();
        Ok(stats)
    }

    /// Feeds the UI until it goes away (`tx` closed): stats at once, then again on each tick
    /// event of the server's stream; on any failure, `Disconnected` and a new attempt.
    pub fn run(self, tx: Sender<Input>) {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(REQUEST_TIMEOUT)
            .timeout_read(STREAM_SILENCE)
            .build();
        let mut retry = RETRY_FIRST;
        loop {
            let reason = match self.follow(&agent, &tx, &mut retry) {
                Ok(()) => return,
                Err(reason) => reason,
            };
            if tx.send(Input::Disconnected(reason)).is_err() {
                return;
            }
            std::thread::sleep(retry);
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// One connection: `Ok` when the UI is gone, `Err` with the reason the server was lost.
    fn follow(
        &self,
        agent: &ureq::Agent,
        tx: &Sender<Input>,
        retry: &mut Duration,
    ) -> Result<(), String> {
        let stream = self.get(agent, "/api/3/events", None)?;
        let stats = self.fetch(agent)?;
        *retry = RETRY_FIRST;
        if tx.send(Input::Stats(Box::new(stats))).is_err() {
            return Ok(());
        }
        let mut lines = BufReader::new(stream.into_reader()).lines();
        loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                Some(Err(e)) => return Err(format!("the event stream broke: {e}")),
                None => return Err("the server closed the event stream".into()),
            };
            if line.trim_end() != "event: tick" {
                continue;
            }
            let stats = self.fetch(agent)?;
            if tx.send(Input::Stats(Box::new(stats))).is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_get_glints_port_unless_they_name_one() {
        let address = |t: &str| Remote::parse(t, None, 61208).map(|r| r.address);
        assert_eq!(address("example.org"), Ok("example.org:61208".into()));
        assert_eq!(address("10.0.0.2:9999"), Ok("10.0.0.2:9999".into()));
        assert_eq!(address("http://10.0.0.2:9999/"), Ok("10.0.0.2:9999".into()));
        assert_eq!(address("::1"), Ok("[::1]:61208".into()));
        assert_eq!(address("[::1]:7"), Ok("[::1]:7".into()));
        let bad = Remote::parse("host:http", None, 61208).expect_err("bad port");
        assert!(bad.contains("\"http\" is not a port"), "{bad}");
        assert!(Remote::parse("", None, 61208).is_err());
        assert!(Remote::parse("a/b", None, 61208).is_err());
    }
}
