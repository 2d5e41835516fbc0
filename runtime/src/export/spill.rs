//! The spill file format: a batch and its schema on disk, written whole or not at all, and read
//! back exactly as it was (an int, an uint and a float each come back as what they were).
use std::path::Path;

use crate::bindings::input::glint::plugin::types::{Batch, Schema};
use crate::bindings::{FieldInfo, Table, Unit, Value};

/// A batch and its schema on disk. Values are tagged so that an int, an uint and a float
/// come back as they were.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SpilledBatch {
    seq: u64,
    unix_nanos: u64,
    hostname: String,
    tables: Vec<SpilledTable>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SpilledTable {
    plugin: String,
    key: Option<String>,
    columns: Vec<String>,
    rows: Vec<Vec<SpilledValue>>,
    fields: Vec<SpilledField>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SpilledField {
    name: String,
    description: String,
    unit: String,
    is_rate: bool,
    keep_history: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) enum SpilledValue {
    N,
    B(bool),
    I(i64),
    U(u64),
    /// Non-finite floats are written as none: JSON has no NaN.
    F(f64),
    T(String),
    TL(Vec<String>),
    IL(Vec<i64>),
    FL(Vec<Option<f64>>),
}

pub(super) const UNITS: &[(Unit, &str)] = &[
    (Unit::None, "none"),
    (Unit::Number, "number"),
    (Unit::Percent, "percent"),
    (Unit::Bytes, "bytes"),
    (Unit::Bits, "bits"),
    (Unit::Seconds, "seconds"),
    (Unit::Milliseconds, "milliseconds"),
    (Unit::Hertz, "hertz"),
    (Unit::Celsius, "celsius"),
    (Unit::Rpm, "rpm"),
    (Unit::Text, "text"),
    (Unit::Timestamp, "timestamp"),
];

impl From<&Value> for SpilledValue {
    fn from(v: &Value) -> SpilledValue {
        match v {
            Value::None => SpilledValue::N,
            Value::Boolean(b) => SpilledValue::B(*b),
            Value::Int(i) => SpilledValue::I(*i),
            Value::Uint(u) => SpilledValue::U(*u),
            Value::Float(f) if f.is_finite() => SpilledValue::F(*f),
            Value::Float(_) => SpilledValue::N,
            Value::Text(t) => SpilledValue::T(t.clone()),
            Value::TextList(l) => SpilledValue::TL(l.clone()),
            Value::IntList(l) => SpilledValue::IL(l.clone()),
            Value::FloatList(l) => {
                SpilledValue::FL(l.iter().map(|f| f.is_finite().then_some(*f)).collect())
            }
        }
    }
}

impl From<SpilledValue> for Value {
    fn from(v: SpilledValue) -> Value {
        match v {
            SpilledValue::N => Value::None,
            SpilledValue::B(b) => Value::Boolean(b),
            SpilledValue::I(i) => Value::Int(i),
            SpilledValue::U(u) => Value::Uint(u),
            SpilledValue::F(f) => Value::Float(f),
            SpilledValue::T(t) => Value::Text(t),
            SpilledValue::TL(l) => Value::TextList(l),
            SpilledValue::IL(l) => Value::IntList(l),
            SpilledValue::FL(l) => {
                Value::FloatList(l.into_iter().map(|f| f.unwrap_or(f64::NAN)).collect())
            }
        }
    }
}

/// Writes a batch (to a temporary name first, so a crash never leaves half a file that
/// looks whole); its size on disk.
pub(super) fn write_spilled(path: &Path, batch: &Batch, schema: &[Schema]) -> std::io::Result<u64> {
    let unit_name = |u: Unit| {
        UNITS
            .iter()
            .find(|(x, _)| *x == u)
            .map_or("none", |(_, n)| n)
            .to_string()
    };
    let spilled = SpilledBatch {
        seq: batch.seq,
        unix_nanos: batch.unix_nanos,
        hostname: batch.hostname.clone(),
        tables: batch
            .tables
            .iter()
            .map(|(plugin, t)| SpilledTable {
                plugin: plugin.clone(),
                key: t.key.clone(),
                columns: t.columns.clone(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(SpilledValue::from).collect())
                    .collect(),
                fields: schema
                    .iter()
                    .find(|s| &s.plugin == plugin)
                    .map(|s| {
                        s.fields
                            .iter()
                            .map(|f| SpilledField {
                                name: f.name.clone(),
                                description: f.description.clone(),
                                unit: unit_name(f.unit),
                                is_rate: f.is_rate,
                                keep_history: f.keep_history,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&spilled).map_err(std::io::Error::other)?;
    let partial = path.with_extension("part");
    let written = std::fs::write(&partial, &bytes).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|()| bytes.len() as u64)
}

/// Why a spilled batch did not come back.
pub(super) enum Spilled {
    /// Not now (too many open files, an I/O error): worth another try.
    Io(String),
    /// Never: it does not parse.
    Corrupt(String),
}

impl std::fmt::Display for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spilled::Io(e) | Spilled::Corrupt(e) => f.write_str(e),
        }
    }
}

/// A spilled batch bigger than this is no batch glint wrote: the default plugins' are ~15 KiB,
/// and a buffer holds 64 MiB of them.
const MAX_SPILLED_BYTES: u64 = 256 << 20;

pub(super) fn read_spilled(path: &Path) -> Result<(Batch, Vec<Schema>), Spilled> {
    // Read as plugin files are: a FIFO or a device put in the spill directory under a batch's
    // name is refused (and dropped like a corrupt batch), never waited on.
    use crate::settings::file::{Fault, read_regular};
    let text =
        read_regular(path, MAX_SPILLED_BYTES, "a spilled batch").map_err(|e| match e.fault {
            Fault::Io(_) => Spilled::Io(e.to_string()),
            _ => Spilled::Corrupt(e.to_string()),
        })?;
    let spilled: SpilledBatch = serde_json::from_slice(&text)
        .map_err(|e| Spilled::Corrupt(format!("{}: {e}", path.display())))?;
    let mut schema = Vec::new();
    let mut tables = Vec::new();
    for t in spilled.tables {
        schema.push(Schema {
            plugin: t.plugin.clone(),
            fields: t
                .fields
                .into_iter()
                .map(|f| FieldInfo {
                    name: f.name,
                    description: f.description,
                    unit: UNITS
                        .iter()
                        .find(|(_, n)| *n == f.unit)
                        .map_or(Unit::None, |(u, _)| *u),
                    is_rate: f.is_rate,
                    keep_history: f.keep_history,
                })
                .collect(),
        });
        tables.push((
            t.plugin,
            Table {
                key: t.key,
                columns: t.columns,
                rows: t
                    .rows
                    .into_iter()
                    .map(|r| r.into_iter().map(Value::from).collect())
                    .collect(),
            },
        ));
    }
    Ok((
        Batch {
            seq: spilled.seq,
            unix_nanos: spilled.unix_nanos,
            hostname: spilled.hostname,
            tables,
        },
        schema,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spilled_batch_reads_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let batch = Batch {
            seq: 7,
            unix_nanos: 1_700_000_000_000_000_000,
            hostname: "box".into(),
            tables: vec![(
                "mem".into(),
                Table {
                    key: None,
                    columns: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                    rows: vec![vec![
                        Value::Int(-1),
                        Value::Uint(u64::MAX),
                        Value::Float(f64::NAN),
                        Value::FloatList(vec![1.5, f64::INFINITY]),
                    ]],
                },
            )],
        };
        let schema = vec![Schema {
            plugin: "mem".into(),
            fields: vec![FieldInfo {
                name: "a".into(),
                description: "A".into(),
                unit: Unit::Bytes,
                is_rate: true,
                keep_history: false,
            }],
        }];
        let path = dir.path().join("1.json");
        write_spilled(&path, &batch, &schema).unwrap_or_else(|e| panic!("{e}"));
        let (back, back_schema) = read_spilled(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.seq, 7);
        assert!(matches!(back.tables[0].1.rows[0][0], Value::Int(-1)));
        assert!(matches!(back.tables[0].1.rows[0][1], Value::Uint(u64::MAX)));
        assert!(matches!(back.tables[0].1.rows[0][2], Value::None));
        assert_eq!(back_schema[0].fields[0].unit, Unit::Bytes);
        std::fs::write(&path, b"{\"seq\": 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read_spilled(&path), Err(Spilled::Corrupt(_))));
        assert!(matches!(
            read_spilled(&dir.path().join("gone.json")),
            Err(Spilled::Io(_))
        ));
        // A FIFO under a batch's name: refused at once (no writer would ever come), and
        // dropped like a corrupt batch rather than tried again forever.
        let fifo = dir.path().join("2.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap_or_else(|e| panic!("mkfifo: {e}"));
        assert!(made.success(), "mkfifo failed");
        assert!(matches!(read_spilled(&fifo), Err(Spilled::Corrupt(e)) if e.contains("FIFO")));
    }
}
