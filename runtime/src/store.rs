//! The stats the host holds: immutable per-tick snapshots published atomically (readers never
//! wait for the tick), decorations from limits, and history rings.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;

use crate::bindings::{Decoration, FieldInfo, Layout, Table, Value};
use crate::config::{Limit, PluginLimits};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginSource {
    Embedded,
    /// Given with `--plugin FILE`.
    File(PathBuf),
    /// Found in the plugins directory (rescanned: it may be replaced or removed).
    Directory(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Embedded => write!(f, "embedded"),
            PluginSource::File(p) | PluginSource::Directory(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What the host knows of a plugin from its handshake.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    pub name: String,
    pub description: String,
    pub api_version: u32,
    pub layout: Layout,
    pub fields: Vec<FieldInfo>,
    pub reads: Vec<String>,
    pub source: PluginSource,
    /// The columns whose history is kept: `f` for a history field, `f_rate_per_sec` for a
    /// history field that is a rate (the rate is what is worth plotting).
    pub history_columns: Vec<String>,
}

impl PluginMeta {
    pub fn new(info: crate::bindings::PluginInfo, source: PluginSource) -> PluginMeta {
        let history_columns = info
            .fields
            .iter()
            .filter(|f| f.keep_history)
            .map(|f| {
                if f.is_rate {
                    format!("{}_rate_per_sec", f.name)
                } else {
                    f.name.clone()
                }
            })
            .collect();
        PluginMeta {
            name: info.name,
            description: info.description,
            api_version: info.api_version,
            layout: info.layout,
            fields: info.fields,
            reads: info.reads,
            source,
            history_columns,
        }
    }
}

/// One plugin's stats in a snapshot.
#[derive(Debug)]
pub struct PluginStats {
    pub meta: Arc<PluginMeta>,
    pub table: Table,
    /// One list per row, one decoration per column.
    pub decorations: Vec<Vec<Decoration>>,
}

impl PluginStats {
    /// The index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.table.columns.iter().position(|c| c == name)
    }

    /// The key of each row as text (list plugins); none for one-record plugins.
    pub fn row_key(&self, row: usize) -> Option<String> {
        let col = self.column(self.table.key.as_deref()?)?;
        self.table.rows.get(row)?.get(col).map(key_text)
    }
}

/// A key cell as text: `eth0`, `/`, `1234`.
pub fn key_text(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A cell as a number, for limits and history.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Every plugin's stats as of one tick. Immutable once published.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub seq: u64,
    pub unix_millis: u64,
    /// In display order.
    pub plugins: Vec<Arc<PluginStats>>,
}

impl Snapshot {
    pub fn get(&self, plugin: &str) -> Option<&Arc<PluginStats>> {
        self.plugins.iter().find(|p| p.meta.name == plugin)
    }
}

/// Glances' rule: `>= critical` CRITICAL, `>= warning` WARNING, `>= careful` CAREFUL, else OK;
/// DEFAULT when there are no thresholds or no value.
pub fn decoration(limit: Option<&Limit>, value: Option<f64>, per: Option<f64>) -> Decoration {
    let (Some(limit), Some(mut value)) = (limit, value) else {
        return Decoration::Default;
    };
    if limit.per.is_some() {
        match per {
            Some(d) if d != 0.0 => value /= d,
            _ => return Decoration::Default,
        }
    }
    let reached = |t: Option<f64>| t.is_some_and(|t| value >= t);
    if reached(limit.critical) {
        Decoration::Critical
    } else if reached(limit.warning) {
        Decoration::Warning
    } else if reached(limit.careful) {
        Decoration::Careful
    } else if limit.careful.is_some() || limit.warning.is_some() || limit.critical.is_some() {
        Decoration::Ok
    } else {
        Decoration::Default
    }
}

/// The limit that applies to one cell: the item's own, else the field's.
pub fn limit_for<'a>(
    limits: Option<&'a PluginLimits>,
    key: Option<&str>,
    column: &str,
) -> Option<&'a Limit> {
    let limits = limits?;
    key.and_then(|k| limits.keys.get(k)?.get(column))
        .or_else(|| limits.fields.get(column))
}

/// The column a limit's `per` names.
fn per_index(table: &Table, limit: Option<&Limit>) -> Option<usize> {
    let per = limit?.per.as_ref()?;
    table.columns.iter().position(|c| c == per)
}

/// Decorates every cell of a table.
pub fn decorate(table: &Table, limits: Option<&PluginLimits>) -> Vec<Vec<Decoration>> {
    let key_col = table
        .key
        .as_ref()
        .and_then(|k| table.columns.iter().position(|c| c == k));
    // Resolved once per table, not per cell: processlist has tens of thousands of cells.
    let per_column: Vec<(Option<&Limit>, Option<usize>)> = table
        .columns
        .iter()
        .map(|column| {
            let limit = limit_for(limits, None, column);
            (limit, per_index(table, limit))
        })
        .collect();
    let item_limits = limits.is_some_and(|l| !l.keys.is_empty());
    table
        .rows
        .iter()
        .map(|row| {
            let key = item_limits
                .then(|| key_col.and_then(|c| row.get(c)).map(key_text))
                .flatten();
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let (limit, per) = match &key {
                        Some(k) => {
                            let limit = limit_for(limits, Some(k), column);
                            (limit, per_index(table, limit))
                        }
                        None => per_column[i],
                    };
                    let per = per.and_then(|c| row.get(c)).and_then(number);
                    decoration(limit, row.get(i).and_then(number), per)
                })
                .collect()
        })
        .collect()
}

/// One point of history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    pub unix_millis: u64,
    pub value: f64,
}

/// Identifies a history ring: plugin, column and (list plugins) item key.
pub type HistoryKey = (String, String, Option<String>);

struct Ring {
    points: VecDeque<HistoryPoint>,
    last_seq: u64,
}

/// History rings of every plugin's history columns.
#[derive(Default)]
pub struct History {
    size: usize,
    rings: HashMap<HistoryKey, Ring>,
}

impl History {
    pub fn new(size: usize) -> History {
        History {
            size,
            rings: HashMap::new(),
        }
    }

    fn record(&mut self, snapshot: &Snapshot) {
        if self.size == 0 {
            return;
        }
        for stats in &snapshot.plugins {
            for column in &stats.meta.history_columns {
                let Some(c) = stats.column(column) else {
                    continue;
                };
                for (r, row) in stats.table.rows.iter().enumerate() {
                    let Some(value) = row.get(c).and_then(number) else {
                        continue;
                    };
                    let key = (stats.meta.name.clone(), column.clone(), stats.row_key(r));
                    let ring = self.rings.entry(key).or_insert_with(|| Ring {
                        points: VecDeque::with_capacity(self.size.min(64)),
                        last_seq: 0,
                    });
                    if ring.points.len() == self.size {
                        ring.points.pop_front();
                    }
                    ring.points.push_back(HistoryPoint {
                        unix_millis: snapshot.unix_millis,
                        value,
                    });
                    ring.last_seq = snapshot.seq;
                }
            }
        }
        // An item gone for a whole history's length (an unplugged disk) has nothing left
        // worth showing: drop its ring so the map stays bounded.
        let horizon = snapshot.seq.saturating_sub(self.size as u64);
        self.rings.retain(|_, ring| ring.last_seq > horizon);
    }

    /// The last `count` points (all if 0), oldest first.
    pub fn points(
        &self,
        plugin: &str,
        column: &str,
        key: Option<&str>,
        count: usize,
    ) -> Vec<HistoryPoint> {
        let id = (
            plugin.to_string(),
            column.to_string(),
            key.map(str::to_string),
        );
        let Some(ring) = self.rings.get(&id) else {
            return Vec::new();
        };
        let skip = if count == 0 {
            0
        } else {
            ring.points.len().saturating_sub(count)
        };
        ring.points.iter().skip(skip).copied().collect()
    }
}

/// The latest snapshot, the history, the limits and the plugins' health.
pub struct Store {
    current: ArcSwap<Snapshot>,
    history: RwLock<History>,
    pub limits: Arc<BTreeMap<String, PluginLimits>>,
    plugins: ArcSwap<crate::plugin::StatusBoard>,
}

impl Store {
    pub fn new(history_size: usize, limits: BTreeMap<String, PluginLimits>) -> Store {
        Store {
            current: ArcSwap::from_pointee(Snapshot::default()),
            history: RwLock::new(History::new(history_size)),
            limits: Arc::new(limits),
            plugins: ArcSwap::from_pointee(crate::plugin::StatusBoard::default()),
        }
    }

    /// Every loaded plugin's health, now (each plugin's lock is taken for a moment).
    pub fn plugins(&self) -> Vec<crate::plugin::PluginStatus> {
        self.plugins.load().statuses()
    }

    /// How the plugins' statuses are made.
    pub fn board(&self) -> Arc<crate::plugin::StatusBoard> {
        self.plugins.load_full()
    }

    /// Replaces the plugins whose statuses are made (when the set of plugins changes).
    pub fn set_board(&self, board: crate::plugin::StatusBoard) {
        self.plugins.store(Arc::new(board));
    }

    /// The latest published snapshot; never blocks.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Makes a snapshot current and adds it to the history.
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        {
            // Held only while the points are appended (microseconds), never across a tick.
            let mut history = self.history.write().unwrap_or_else(|p| p.into_inner());
            history.record(&snapshot);
        }
        self.current.store(snapshot);
    }

    /// Runs `f` with read access to the history.
    pub fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        let history = self.history.read().unwrap_or_else(|p| p.into_inner());
        f(&history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(c: f64, w: f64, k: f64) -> Limit {
        Limit {
            careful: Some(c),
            warning: Some(w),
            critical: Some(k),
            ..Limit::default()
        }
    }

    #[test]
    fn glances_decoration_rule() {
        let l = limit(50.0, 70.0, 90.0);
        assert_eq!(decoration(Some(&l), Some(10.0), None), Decoration::Ok);
        assert_eq!(decoration(Some(&l), Some(50.0), None), Decoration::Careful);
        assert_eq!(decoration(Some(&l), Some(70.0), None), Decoration::Warning);
        assert_eq!(decoration(Some(&l), Some(95.0), None), Decoration::Critical);
        assert_eq!(decoration(None, Some(95.0), None), Decoration::Default);
        assert_eq!(decoration(Some(&l), None, None), Decoration::Default);
    }

    #[test]
    fn per_column_divides_before_comparing() {
        let l = Limit {
            per: Some("cpucore".into()),
            ..limit(0.7, 1.0, 5.0)
        };
        // load 3 on 4 cores = 0.75 per core: CAREFUL; on 2 cores = 1.5: WARNING
        assert_eq!(
            decoration(Some(&l), Some(3.0), Some(4.0)),
            Decoration::Careful
        );
        assert_eq!(
            decoration(Some(&l), Some(3.0), Some(2.0)),
            Decoration::Warning
        );
        assert_eq!(decoration(Some(&l), Some(3.0), None), Decoration::Default);
    }

    fn net_table() -> Table {
        Table {
            key: Some("interface_name".into()),
            columns: vec!["interface_name".into(), "rx".into()],
            rows: vec![
                vec![Value::Text("eth0".into()), Value::Uint(500)],
                vec![Value::Text("wlan0".into()), Value::Uint(500)],
            ],
        }
    }

    #[test]
    fn item_limits_override_field_limits() {
        let mut limits = PluginLimits::default();
        limits
            .fields
            .insert("rx".into(), limit(100.0, 200.0, 300.0));
        limits.keys.insert(
            "wlan0".into(),
            BTreeMap::from([("rx".to_string(), limit(1000.0, 2000.0, 3000.0))]),
        );
        let d = decorate(&net_table(), Some(&limits));
        assert_eq!(d[0], vec![Decoration::Default, Decoration::Critical]);
        assert_eq!(d[1], vec![Decoration::Default, Decoration::Ok]);
    }

    fn meta(name: &str, history: &[&str]) -> Arc<PluginMeta> {
        Arc::new(PluginMeta {
            name: name.into(),
            description: String::new(),
            api_version: 1,
            layout: Layout::List,
            fields: Vec::new(),
            reads: Vec::new(),
            source: PluginSource::Embedded,
            history_columns: history.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn history_rings_are_bounded_and_keyed() {
        let store = Store::new(3, BTreeMap::new());
        for seq in 1..=5u64 {
            let mut table = net_table();
            table.rows[0][1] = Value::Uint(seq);
            store.publish(Arc::new(Snapshot {
                seq,
                unix_millis: seq * 1000,
                plugins: vec![Arc::new(PluginStats {
                    meta: meta("network", &["rx"]),
                    decorations: decorate(&table, None),
                    table,
                })],
            }));
        }
        let points = store.with_history(|h| h.points("network", "rx", Some("eth0"), 0));
        assert_eq!(
            points.iter().map(|p| p.value).collect::<Vec<_>>(),
            vec![3.0, 4.0, 5.0]
        );
        let last = store.with_history(|h| h.points("network", "rx", Some("eth0"), 1));
        assert_eq!(last[0].unix_millis, 5000);
        assert_eq!(store.snapshot().seq, 5);
    }
}
