//! test-env: a test guest (not a default plugin) that reports which environment variables it
//! can see, for the environment sandbox test: it must see the granted ones and no others.

use glint_sdk::prelude::*;
use glint_test_attack::{Report, report_fields};

/// Variables every shell has: visible ones mean the host's environment leaked in (unless
/// the test grants them).
const HOST_VARS: &[&str] = &["HOME", "PATH", "USER"];

#[derive(Default)]
struct Env;

impl InputPlugin for Env {
    fn info() -> PluginInfo {
        let info = plugin(
            "test-env",
            "Test guest: reports the environment variables it sees (environment sandbox test)",
            Layout::Record,
        );
        report_fields(
            info,
            "True if HOME, PATH or USER (unless granted) or any variable not granted is visible.",
            "True if every granted variable (setting `granted`) is visible.",
            "check",
        )
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
        // The granted names: a list, or one text; none when unset.
        let granted = report.text_list_setting(&entries, "granted");
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

glint_sdk::export_input!(Env);
