//! Thresholds on a plugin's fields (`[limits.NAME]`): careful, warning and critical, per field
//! and per item of a list plugin, as the config file sets them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A threshold set on one field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub careful: Option<f64>,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    #[serde(default)]
    pub log: bool,
    /// Compare `value / row[per]` instead of the value (load per core).
    pub per: Option<String>,
}

/// The limits of one plugin: per field, and per item of a list plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginLimits {
    pub fields: BTreeMap<String, Limit>,
    pub keys: BTreeMap<String, BTreeMap<String, Limit>>,
}
