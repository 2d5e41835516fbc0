//! Decorations: each cell's OK/CAREFUL/WARNING/CRITICAL from the limits, by Glances' rule.

use crate::bindings::{Decoration, Table};
use crate::settings::config::{Limit, PluginLimits};
use crate::stats::snapshot::{key_text, number};

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bindings::Value;
    use std::collections::BTreeMap;

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

    pub(crate) fn net_table() -> Table {
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
}
