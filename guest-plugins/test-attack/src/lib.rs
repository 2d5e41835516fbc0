//! What the attack test guests share: the report of their attempts (the `escaped`,
//! `controls_ok` and `outcome` columns), the settings helpers that feed it, and a busy loop.
//!
//! A plain library, not a plugin: it builds no component of its own.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use glint_sdk::prelude::*;

/// Adds the three columns a [`Report`] fills to `info`: `escaped` and `controls_ok` with the
/// guest's own descriptions, and `outcome`, one line per `each` (`"attempt"`, `"check"`).
pub fn report_fields(info: PluginInfo, escaped: &str, controls_ok: &str, each: &str) -> PluginInfo {
    info.field(field("escaped", Unit::None, escaped))
        .field(field("controls_ok", Unit::None, controls_ok))
        .field(field(
            "outcome",
            Unit::Text,
            &format!("One line per {each}, joined with \"; \"."),
        ))
}

/// Keeps the CPU busy for `d`: a busy wait, not a sleep, so the time is spent computing.
pub fn busy_for(d: Duration) {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < d {
        // black_box keeps the work real: the optimiser cannot drop the loop body.
        n = std::hint::black_box(n.wrapping_add(1));
    }
    std::hint::black_box(n);
}

/// What the attempts (or checks) came to, as the one row reports it.
pub struct Report {
    escaped: bool,
    controls_ok: bool,
    lines: Vec<String>,
}

/// Nothing tried yet: no escape, and the controls pass until one fails. (`new` has this
/// `Default` beside it, as clippy's `new_without_default` asks of a public type.)
impl Default for Report {
    fn default() -> Self {
        Self {
            escaped: false,
            controls_ok: true,
            lines: Vec::new(),
        }
    }
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    /// An attempt the sandbox must refuse: success is an escape.
    pub fn forbidden(&mut self, what: &str, result: Result<String, String>) {
        if result.is_ok() {
            self.escaped = true;
        }
        self.record(what, result);
    }

    /// An attempt the grant must allow: failure fails the controls.
    pub fn control(&mut self, what: &str, result: Result<String, String>) {
        if result.is_err() {
            self.controls_ok = false;
        }
        self.record(what, result);
    }

    fn record(&mut self, what: &str, result: Result<String, String>) {
        self.lines.push(match result {
            Ok(detail) => format!("{what}: allowed ({detail})"),
            Err(error) => format!("{what}: denied ({error})"),
        });
    }

    /// Reports a broken test set-up (a setting of the wrong type or form): it fails the
    /// controls, so a forbidden attempt that never ran cannot pass for a denied one.
    fn bad_setting(&mut self, key: &str, problem: &str) {
        self.controls_ok = false;
        self.lines.push(format!("setting {key}: {problem}"));
    }

    /// A text setting, none when unset. A setting of another type is a broken test set-up:
    /// it is reported and fails the controls.
    pub fn text_setting(&mut self, entries: &[(String, ConfigValue)], key: &str) -> Option<String> {
        match glint_sdk::config_value(entries, key)? {
            ConfigValue::Text(text) => Some(text),
            _ => {
                self.bad_setting(key, "not text");
                None
            }
        }
    }

    /// An `IP:PORT` setting, none when unset.
    pub fn addr_setting(
        &mut self,
        entries: &[(String, ConfigValue)],
        key: &str,
    ) -> Option<SocketAddr> {
        let text = self.text_setting(entries, key)?;
        match text.parse() {
            Ok(addr) => Some(addr),
            Err(e) => {
                self.bad_setting(key, &format!("{text:?} is not IP:PORT ({e})"));
                None
            }
        }
    }

    /// A text-list setting (one text also serves), empty when unset. A setting of another
    /// type is a broken test set-up: it is reported and fails the controls.
    pub fn text_list_setting(
        &mut self,
        entries: &[(String, ConfigValue)],
        key: &str,
    ) -> Vec<String> {
        match glint_sdk::config_value(entries, key) {
            None => Vec::new(),
            Some(ConfigValue::TextList(items)) => items,
            Some(ConfigValue::Text(item)) => vec![item],
            Some(_) => {
                self.bad_setting(key, "not a text list");
                Vec::new()
            }
        }
    }

    /// The row, for a guest that adds columns of its own before [`Row::into_table`].
    pub fn into_row(self) -> Row {
        Row::new()
            .set("escaped", self.escaped)
            .set("controls_ok", self.controls_ok)
            .set("outcome", self.lines.join("; "))
    }

    pub fn into_table(self) -> Table {
        self.into_row().into_table()
    }
}
