//! The stats the host holds: the latest snapshot, published atomically (readers never wait
//! for the tick), its history, the limits, and the board of the plugins' statuses.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;

use crate::settings::config::PluginLimits;
use crate::stats::history::History;
use crate::stats::snapshot::Snapshot;

/// The latest snapshot, the history, the limits and the plugins' health.
pub struct Store {
    current: ArcSwap<Snapshot>,
    history: RwLock<History>,
    pub limits: Arc<BTreeMap<String, PluginLimits>>,
    plugins: ArcSwap<crate::stats::status::StatusBoard>,
}

impl Store {
    pub fn new(history_size: usize, limits: BTreeMap<String, PluginLimits>) -> Store {
        Store {
            current: ArcSwap::from_pointee(Snapshot::default()),
            history: RwLock::new(History::new(history_size)),
            limits: Arc::new(limits),
            plugins: ArcSwap::from_pointee(crate::stats::status::StatusBoard::default()),
        }
    }

    /// Every loaded plugin's health, now (each plugin's lock is taken for a moment).
    pub fn plugins(&self) -> Vec<crate::stats::status::PluginStatus> {
        self.plugins.load().statuses()
    }

    /// How the plugins' statuses are made.
    pub fn board(&self) -> Arc<crate::stats::status::StatusBoard> {
        self.plugins.load_full()
    }

    /// Replaces the plugins whose statuses are made (when the set of plugins changes).
    pub fn set_board(&self, board: crate::stats::status::StatusBoard) {
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
    use crate::bindings::{Layout, Value};
    use crate::stats::decorate::decorate;
    use crate::stats::decorate::tests::net_table;
    use crate::stats::snapshot::{PluginMeta, PluginSource, PluginStats};

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
