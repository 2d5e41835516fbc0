//! History: a bounded ring of points per plugin, field and row key, fed by every snapshot.

use std::collections::{HashMap, VecDeque};

use crate::stats::snapshot::{Snapshot, number};

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

    pub(crate) fn record(&mut self, snapshot: &Snapshot) {
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
