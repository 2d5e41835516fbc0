//! Notifications: what happened on each tick (stats updated, alerts begun or ended, plugins
//! restarted or stopped), worked out by diffing ticks and broadcast to any number of
//! subscribers without ever waiting for one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Value as Json, json};
use tokio::sync::broadcast;

use crate::stats::render;
use crate::stats::snapshot::{Snapshot, number};
use crate::stats::status::PluginStatus;

/// Events a subscriber's receiver may fall behind by before it is told it lagged and skips
/// ahead: 64 ticks is two minutes at the default refresh, far more than a receiver trails by
/// when it is drained at once. The server drains each into a backlog of its own, capped in
/// bytes (`server/backlog.rs`), so a client that stops reading pins no snapshot here.
pub const EVENT_BUFFER: usize = 64;

/// The plugin whose rows are the alert events (begin, end, type, state...).
const ALERT_PLUGIN: &str = "alert";

/// One notification.
#[derive(Debug, Clone)]
pub enum Event {
    /// A tick published a snapshot.
    Tick(Arc<Snapshot>),
    /// An alert began (`end` is -1) or ended: the alert plugin's row.
    Alert { begun: bool, row: Json },
    /// A plugin changed state: `loaded`, `restarted` (after a trap), `unloaded`, or its
    /// new status (`throttled`, `restarting`, `quarantined`, `refused`, `running` again);
    /// `reason` is its last error.
    Plugin {
        name: String,
        kind: String,
        status: String,
        restarts: u64,
        errors: u64,
        reason: Option<String>,
    },
    /// A subscriber fell behind and skipped `missed` events. Never broadcast: each
    /// subscriber's own, made where it skipped.
    Lagged { missed: u64 },
}

/// An event rendered for subscribers: the SSE frame `event: KIND\ndata: JSON\n\n`, whose
/// data line (`json`) is also the WebSocket message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: Arc<str>,
    /// Where the JSON is in `text`.
    pub json: Range<usize>,
}

impl Event {
    /// The SSE event name and the `type` of the JSON form.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Tick(_) => "tick",
            Event::Alert { begun: true, .. } => "alert_begin",
            Event::Alert { begun: false, .. } => "alert_end",
            Event::Plugin { .. } => "plugin",
            Event::Lagged { .. } => "lagged",
        }
    }

    /// Whether a subscriber of `plugins` gets this event: a plugin's change goes only to
    /// subscribers of that plugin (or of every plugin); the others go to all.
    pub fn concerns(&self, plugins: &[String]) -> bool {
        match self {
            Event::Plugin { name, .. } => plugins.is_empty() || plugins.contains(name),
            _ => true,
        }
    }

    /// The event as an SSE frame whose data line is its JSON (see [`Event::to_json`]).
    /// serde_json escapes newlines in strings, so the JSON is always one line.
    pub fn render(&self, plugins: &[String]) -> Option<Rendered> {
        let json = self.to_json(plugins)?.to_string();
        let head = format!("event: {}\ndata: ", self.kind());
        let mut text = String::with_capacity(head.len() + json.len() + 2);
        text.push_str(&head);
        text.push_str(&json);
        text.push_str("\n\n");
        Some(Rendered {
            text: text.into(),
            json: head.len()..head.len() + json.len(),
        })
    }

    /// The event as a subscriber sees it; `plugins` filters tick events to those plugins and
    /// includes their stats (empty: every plugin, names only). `None` when the filter leaves
    /// nothing of it.
    pub fn to_json(&self, plugins: &[String]) -> Option<Json> {
        if !self.concerns(plugins) {
            return None;
        }
        let mut object = match self {
            Event::Tick(snapshot) => {
                let names: Vec<&str> = snapshot
                    .plugins
                    .iter()
                    .map(|p| p.meta.name.as_str())
                    .filter(|n| plugins.is_empty() || plugins.iter().any(|p| p == n))
                    .collect();
                let mut object = json!({
                    "seq": snapshot.seq,
                    "timestamp": crate::stats::render::iso_timestamp(snapshot.unix_millis),
                    "unix_millis": snapshot.unix_millis,
                    "plugins": names,
                });
                if !plugins.is_empty() {
                    object["stats"] = render::plugins(snapshot, plugins);
                }
                object
            }
            Event::Alert { row, .. } => json!({ "alert": row }),
            Event::Plugin {
                name,
                kind,
                status,
                restarts,
                errors,
                reason,
            } => {
                json!({
                    "plugin": name, "kind": kind, "status": status,
                    "restarts": restarts, "errors": errors, "reason": reason,
                })
            }
            Event::Lagged { missed } => json!({ "missed": missed }),
        };
        object["type"] = Json::from(self.kind());
        Some(object)
    }
}

/// An event's renderings by filter (the list of plugins asked for), each made once.
type Renderings = HashMap<Vec<String>, Arc<OnceLock<Option<Rendered>>>>;

/// An event as the hub sends it, shared by every subscriber with its renderings: one per
/// filter, made by the first subscriber that asks, so a hundred subscribers of one filter
/// cost one rendering and hold the same bytes.
pub struct Sent {
    pub event: Event,
    renderings: Mutex<Renderings>,
}

impl Sent {
    pub fn new(event: Event) -> Sent {
        Sent {
            event,
            renderings: Mutex::default(),
        }
    }

    /// The event rendered for `plugins` ([`Event::render`]), made once per filter. A filter
    /// is its list as given: callers sort theirs so that equal sets share.
    pub fn rendered(&self, plugins: &[String]) -> Option<Rendered> {
        let cell = {
            let mut renderings = self
                .renderings
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match renderings.get(plugins) {
                Some(cell) => cell.clone(),
                None => renderings.entry(plugins.to_vec()).or_default().clone(),
            }
        };
        // Rendered outside the map's lock: other filters render meanwhile, and subscribers
        // of this one wait for this rendering rather than make their own.
        cell.get_or_init(|| self.event.render(plugins)).clone()
    }
}

/// The broadcast side: the tick thread sends, each subscriber has its own receiver.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Sent>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            tx: broadcast::channel(EVENT_BUFFER).0,
        }
    }

    /// Sends to every subscriber; never blocks (a slow subscriber lags instead).
    pub fn send(&self, event: Event) {
        // No subscriber is not an error: nobody is listening right now.
        let _ = self.tx.send(Arc::new(Sent::new(event)));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Sent>> {
        self.tx.subscribe()
    }
}

/// Works out the events of each tick by comparing it with the one before.
#[derive(Default)]
pub struct Tracker {
    /// Ongoing alerts, by (type, begin).
    ongoing: HashSet<(String, i64)>,
    /// Per plugin: (restarts, status) at the previous tick.
    plugins: BTreeMap<String, (u64, String)>,
}

impl Tracker {
    /// The events of a tick: plugin state changes, alert changes, then the tick itself.
    /// `plugins`: every plugin's status, or `None` when none changed since the last call.
    pub fn observe(
        &mut self,
        snapshot: &Arc<Snapshot>,
        plugins: Option<&[PluginStatus]>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(plugins) = plugins {
            events.extend(self.plugin_changes(plugins));
        }
        events.extend(self.alerts(snapshot));
        events.push(Event::Tick(snapshot.clone()));
        events
    }

    /// Plugins loaded, unloaded or changed state since the last statuses.
    fn plugin_changes(&mut self, plugins: &[PluginStatus]) -> Vec<Event> {
        let mut events = Vec::new();
        let event = |p: &PluginStatus, status: &str| Event::Plugin {
            name: p.name.clone(),
            kind: p.kind.clone(),
            status: status.to_string(),
            restarts: p.restarts,
            errors: p.errors,
            reason: p.last_error.clone(),
        };
        let mut seen = BTreeMap::new();
        for p in plugins {
            let now = (p.restarts, p.status.clone());
            let status = match self.plugins.get(&p.name) {
                None if p.status == "refused" => Some(p.status.as_str()),
                None => Some("loaded"),
                // Another file, or the same file replaced: reloaded.
                Some((_, before)) if *before == "refused" && p.status != "refused" => {
                    Some("loaded")
                }
                Some((before, status)) if *status == p.status && p.restarts > *before => {
                    Some("restarted")
                }
                Some((_, status)) if *status != p.status => Some(p.status.as_str()),
                _ => None,
            };
            if let Some(status) = status {
                events.push(event(p, status));
            }
            seen.insert(p.name.clone(), now);
        }
        for (name, _) in self.plugins.iter().filter(|(n, _)| !seen.contains_key(*n)) {
            events.push(Event::Plugin {
                name: name.clone(),
                kind: String::new(),
                status: "unloaded".into(),
                restarts: 0,
                errors: 0,
                reason: None,
            });
        }
        self.plugins = seen;
        events
    }

    fn alerts(&mut self, snapshot: &Snapshot) -> Vec<Event> {
        let Some(stats) = snapshot.get(ALERT_PLUGIN) else {
            return Vec::new();
        };
        let (Some(kind), Some(begin), Some(end)) = (
            stats.column("type"),
            stats.column("begin"),
            stats.column("end"),
        ) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut now_ongoing = HashSet::new();
        for (i, row) in stats.table.rows.iter().enumerate() {
            let id = (
                row.get(kind)
                    .map(crate::stats::snapshot::key_text)
                    .unwrap_or_default(),
                row.get(begin).and_then(number).unwrap_or(0.0) as i64,
            );
            let ended = row.get(end).and_then(number).is_some_and(|e| e >= 0.0);
            if ended {
                if self.ongoing.contains(&id) {
                    events.push(Event::Alert {
                        begun: false,
                        row: render::row(stats, i),
                    });
                }
            } else {
                if !self.ongoing.contains(&id) {
                    events.push(Event::Alert {
                        begun: true,
                        row: render::row(stats, i),
                    });
                }
                now_ongoing.insert(id);
            }
        }
        self.ongoing = now_ongoing;
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Layout, Table, Value};
    use crate::stats::snapshot::{PluginMeta, PluginSource, PluginStats};

    fn snapshot(seq: u64, alerts: &[(&str, i64, i64)]) -> Arc<Snapshot> {
        let meta = Arc::new(PluginMeta {
            name: ALERT_PLUGIN.into(),
            description: String::new(),
            api_version: 1,
            layout: Layout::List,
            fields: Vec::new(),
            reads: Vec::new(),
            source: PluginSource::Embedded,
            history_columns: Vec::new(),
        });
        let table = Table {
            key: None,
            columns: vec!["begin".into(), "end".into(), "type".into()],
            rows: alerts
                .iter()
                .map(|(kind, begin, end)| {
                    vec![
                        Value::Int(*begin),
                        Value::Int(*end),
                        Value::Text(kind.to_string()),
                    ]
                })
                .collect(),
        };
        Arc::new(Snapshot {
            seq,
            unix_millis: seq * 1000,
            plugins: vec![Arc::new(PluginStats {
                meta,
                table,
                decorations: Vec::new(),
            })],
        })
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(Event::kind).collect()
    }

    #[test]
    fn alerts_begin_once_and_end_once() {
        let mut tracker = Tracker::default();
        let e = tracker.observe(&snapshot(1, &[]), None);
        assert_eq!(kinds(&e), ["tick"]);
        let e = tracker.observe(&snapshot(2, &[("MEM_PERCENT", 100, -1)]), None);
        assert_eq!(kinds(&e), ["alert_begin", "tick"]);
        let e = tracker.observe(&snapshot(3, &[("MEM_PERCENT", 100, -1)]), None);
        assert_eq!(kinds(&e), ["tick"]);
        let e = tracker.observe(
            &snapshot(4, &[("MEM_PERCENT", 100, 104), ("LOAD_MIN1", 103, -1)]),
            None,
        );
        assert_eq!(kinds(&e), ["alert_end", "alert_begin", "tick"]);
        let end = e[0].to_json(&[]).unwrap_or_default();
        assert_eq!(end["alert"]["type"], "MEM_PERCENT");
        assert_eq!(end["alert"]["end"], 104);
        // An ended event stays in the list: it is not reported again.
        let e = tracker.observe(
            &snapshot(5, &[("MEM_PERCENT", 100, 104), ("LOAD_MIN1", 103, -1)]),
            None,
        );
        assert_eq!(kinds(&e), ["tick"]);
    }

    #[test]
    fn tick_events_filter_plugins_and_carry_their_stats() {
        let tick = Event::Tick(snapshot(7, &[("MEM_PERCENT", 1, -1)]));
        let plain = tick.to_json(&[]).unwrap_or_default();
        assert_eq!(plain["seq"], 7);
        assert_eq!(plain["plugins"], json!(["alert"]));
        assert!(plain.get("stats").is_none());
        let filtered = tick.to_json(&["alert".to_string()]).unwrap_or_default();
        assert_eq!(filtered["stats"]["alert"][0]["type"], "MEM_PERCENT");
        let other = tick.to_json(&["cpu".to_string()]).unwrap_or_default();
        assert_eq!(other["plugins"], json!([]));
        let lifecycle = Event::Plugin {
            name: "cpu".into(),
            kind: "input".into(),
            status: "restarted".into(),
            restarts: 1,
            errors: 1,
            reason: Some("trapped".into()),
        };
        assert!(lifecycle.to_json(&["mem".to_string()]).is_none());
        assert_eq!(
            lifecycle.to_json(&[]).unwrap_or_default()["status"],
            "restarted"
        );
    }

    #[test]
    fn one_rendering_per_filter_shared_by_its_subscribers() {
        let sent = Sent::new(Event::Tick(snapshot(3, &[("MEM_PERCENT", 1, -1)])));
        let alert = ["alert".to_string()];
        let a = sent.rendered(&alert).expect("a tick renders");
        let b = sent.rendered(&alert).expect("a tick renders");
        assert!(Arc::ptr_eq(&a.text, &b.text), "rendered twice");
        let plain = sent.rendered(&[]).expect("a tick renders");
        assert!(!Arc::ptr_eq(&a.text, &plain.text));
        // An SSE frame whose data line is the JSON.
        assert!(a.text.starts_with("event: tick\ndata: {"), "{}", a.text);
        assert!(a.text.ends_with("}\n\n"), "{}", a.text);
        let json: Json =
            serde_json::from_str(a.text.get(a.json.clone()).unwrap_or_default()).expect("JSON");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["stats"]["alert"][0]["type"], "MEM_PERCENT");
        // A plugin's change is nothing to a subscriber of other plugins.
        let lifecycle = Sent::new(Event::Plugin {
            name: "cpu".into(),
            kind: "input".into(),
            status: "loaded".into(),
            restarts: 0,
            errors: 0,
            reason: None,
        });
        assert!(!lifecycle.event.concerns(&alert));
        assert!(lifecycle.rendered(&alert).is_none());
        let lagged = Event::Lagged { missed: 7 }.render(&[]).expect("renders");
        assert!(lagged.text.starts_with("event: lagged\ndata: "));
        let json: Json =
            serde_json::from_str(lagged.text.get(lagged.json).unwrap_or_default()).expect("JSON");
        assert_eq!(json, json!({"type": "lagged", "missed": 7}));
    }

    #[test]
    fn plugin_changes_are_events_once() {
        let status = |name: &str, status: &str, restarts: u64| PluginStatus {
            name: name.into(),
            kind: "input".into(),
            status: status.into(),
            restarts,
            ..PluginStatus::default()
        };
        let plugin_events = |e: Vec<Event>| -> Vec<String> {
            e.into_iter()
                .filter_map(|e| match e {
                    Event::Plugin { name, status, .. } => Some(format!("{name} {status}")),
                    _ => None,
                })
                .collect()
        };
        let mut t = Tracker::default();
        let s = snapshot(1, &[]);
        let e = t.observe(
            &s,
            Some(&[status("a", "running", 0), status("b", "refused", 0)]),
        );
        assert_eq!(plugin_events(e), ["a loaded", "b refused"]);
        let e = t.observe(
            &s,
            Some(&[status("a", "running", 0), status("b", "refused", 0)]),
        );
        assert!(plugin_events(e).is_empty());
        // Nothing changed, nothing made: no event, and the last statuses stand.
        let e = t.observe(&s, None);
        assert!(plugin_events(e).is_empty());
        let e = t.observe(
            &s,
            Some(&[status("a", "restarting", 0), status("b", "running", 0)]),
        );
        assert_eq!(plugin_events(e), ["a restarting", "b loaded"]);
        let e = t.observe(
            &s,
            Some(&[status("a", "restarting", 1), status("b", "running", 0)]),
        );
        assert_eq!(plugin_events(e), ["a restarted"]);
        let e = t.observe(&s, Some(&[status("a", "quarantined", 1)]));
        assert_eq!(plugin_events(e), ["a quarantined", "b unloaded"]);
    }
}
