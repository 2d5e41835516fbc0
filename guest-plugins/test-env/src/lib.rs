//! test-env: a test guest (not a default plugin) that reports which environment variables it
//! can see, for the environment sandbox test: it must see the granted ones and no others.

use glint_sdk::prelude::*;

/// Variables every shell has: visible ones mean the host's environment leaked in (unless
/// the test grants them).
const HOST_VARS: &[&str] = &["HOME", "PATH", "USER"];

#[derive(Default)]
struct Env;

impl InputPlugin for Env {
    fn info() -> PluginInfo {
        plugin(
            "test-env",
            "Test guest: reports the environment variables it sees (environment sandbox test)",
            Layout::Record,
        )
        .field(field(
            "escaped",
            Unit::None,
            "True if HOME, PATH or USER (unless granted) or any variable not granted is visible.",
        ))
        .field(field(
            "controls_ok",
            Unit::None,
            "True if every granted variable (setting `granted`) is visible.",
        ))
        .field(field(
            "outcome",
            Unit::Text,
            "One line per check, joined with \"; \".",
        ))
        .field(field(
            "visible",
            Unit::Text,
            "Which of HOME, PATH, USER and the granted names are visible.",
        ))
        .field(field(
            "vars",
            Unit::Number,
            "How many variables are visible in all.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let entries = glint_sdk::config();
        let mut report = Report::new();
        let granted = report.granted(&entries);
        let mut visible = Vec::new();

        for name in HOST_VARS.iter().copied() {
            if granted.iter().any(|g| g == name) {
                continue;
            }
            let seen = is_visible(name);
            if seen.is_ok() {
                visible.push(name.to_string());
            }
            report.forbidden(&format!("env {name}"), seen);
        }
        for name in &granted {
            let seen = is_visible(name);
            if seen.is_ok() {
                visible.push(name.clone());
            }
            report.control(&format!("env {name}"), seen);
        }

        let names: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        let ungranted: Vec<&str> = names
            .iter()
            .filter(|name| !granted.contains(name))
            .map(String::as_str)
            .collect();
        let all = if ungranted.is_empty() {
            Err(format!("{} visible, all granted", names.len()))
        } else {
            Ok(format!(
                "{} visible, not granted: {}",
                names.len(),
                ungranted.join(", ")
            ))
        };
        report.forbidden("env vars", all);

        Ok(report
            .into_row()
            .set("visible", visible)
            .set("vars", names.len())
            .into_table())
    }
}

/// Whether the variable is set (its value is never reported).
fn is_visible(name: &str) -> Result<String, String> {
    match std::env::var_os(name) {
        Some(_) => Ok("visible".to_string()),
        None => Err("not visible".to_string()),
    }
}

/// What the checks came to, as the one row reports it.
struct Report {
    escaped: bool,
    controls_ok: bool,
    lines: Vec<String>,
}

impl Report {
    fn new() -> Self {
        Self {
            escaped: false,
            controls_ok: true,
            lines: Vec::new(),
        }
    }

    /// A check the sandbox must refuse: success is an escape.
    fn forbidden(&mut self, what: &str, result: Result<String, String>) {
        if result.is_ok() {
            self.escaped = true;
        }
        self.record(what, result);
    }

    /// A check the grant must allow: failure fails the controls.
    fn control(&mut self, what: &str, result: Result<String, String>) {
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

    /// The granted names (setting `granted`, a list; one text also serves), none when unset.
    /// A setting of another type is a broken test set-up: it is reported and fails the controls.
    fn granted(&mut self, entries: &[(String, ConfigValue)]) -> Vec<String> {
        match glint_sdk::config_value(entries, "granted") {
            None => Vec::new(),
            Some(ConfigValue::TextList(names)) => names,
            Some(ConfigValue::Text(name)) => vec![name],
            Some(_) => {
                self.controls_ok = false;
                self.lines
                    .push("setting granted: not a text list".to_string());
                Vec::new()
            }
        }
    }

    fn into_row(self) -> Row {
        Row::new()
            .set("escaped", self.escaped)
            .set("controls_ok", self.controls_ok)
            .set("outcome", self.lines.join("; "))
    }
}

glint_sdk::export_input!(Env);
