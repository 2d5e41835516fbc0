//! Building stats tables: rows of named, typed values, and conversions into `Value`.

use crate::{Table, Value};

/// One row: (column, value) pairs in a fixed order.
#[derive(Debug, Default, Clone)]
pub struct Row {
    cells: Vec<(&'static str, Value)>,
}

impl Row {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column.
    pub fn set(mut self, column: &'static str, value: impl Into<Value>) -> Self {
        self.cells.push((column, value.into()));
        self
    }

    /// Appends a column in place (for loops).
    pub fn push(&mut self, column: &'static str, value: impl Into<Value>) {
        self.cells.push((column, value.into()));
    }

    /// The value of a column set earlier.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.cells
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, v)| v)
    }

    /// A one-row table (for `Layout::Record` and `Layout::Scalar` plugins).
    pub fn into_table(self) -> Table {
        let mut rows = Rows::new(None);
        rows.push(self);
        rows.into_table()
    }
}

/// The rows of a list plugin. The first row pushed fixes the columns; every later row
/// must set the same columns in the same order.
#[derive(Debug, Default)]
pub struct Rows {
    key: Option<String>,
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    /// `key` names the key column (`interface_name`), none for one-record tables.
    pub fn new(key: Option<&str>) -> Self {
        Self {
            key: key.map(str::to_string),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Row) {
        if self.rows.is_empty() {
            self.columns = row.cells.iter().map(|(name, _)| *name).collect();
        }
        debug_assert!(
            row.cells.len() == self.columns.len()
                && row
                    .cells
                    .iter()
                    .zip(&self.columns)
                    .all(|((a, _), b)| a == b),
            "every row must set the same columns in the same order"
        );
        self.rows
            .push(row.cells.into_iter().map(|(_, value)| value).collect());
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn into_table(self) -> Table {
        Table {
            key: self.key,
            columns: self.columns.into_iter().map(str::to_string).collect(),
            rows: self.rows,
        }
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Uint(u64::from(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Uint(v as u64)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::TextList(v)
    }
}
impl From<Vec<i64>> for Value {
    fn from(v: Vec<i64>) -> Self {
        Value::IntList(v)
    }
}
impl From<Vec<f64>> for Value {
    fn from(v: Vec<f64>) -> Self {
        Value::FloatList(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::None, Into::into)
    }
}

impl Value {
    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Uint(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}
