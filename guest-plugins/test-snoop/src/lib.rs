//! test-snoop: a test guest (not a default plugin) that counts the process command lines and
//! user names it can see, through the readings and through the processlist plugin's stats,
//! for the process privacy test (the host compares the counts with and without the grant).

use glint_sdk::prelude::*;
use glint_sdk::stats;

/// The plugin whose stats it reads.
const PROCESSLIST: &str = "processlist";

#[derive(Default)]
struct Snoop;

impl InputPlugin for Snoop {
    fn info() -> PluginInfo {
        plugin(
            "test-snoop",
            "Test guest: counts the process details it can see (process privacy test)",
            Layout::Record,
        )
        .reads(&[PROCESSLIST])
        .field(field(
            "readings_cmdlines",
            Unit::Number,
            "Processes from readings with a non-empty command line.",
        ))
        .field(field(
            "readings_users",
            Unit::Number,
            "Processes from readings with a non-empty user name.",
        ))
        .field(field(
            "stats_cmdlines",
            Unit::Number,
            "Rows of processlist's stats with a non-empty cmdline.",
        ))
        .field(field(
            "stats_users",
            Unit::Number,
            "Rows of processlist's stats with a non-empty username.",
        ))
        .field(field("processes", Unit::Number, "Processes from readings."))
        .field(field(
            "stats_processes",
            Unit::Number,
            "Rows of processlist's stats (0 when it has none).",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let processes = readings::get_processes();
        let readings_cmdlines = processes.iter().filter(|p| !p.cmdline.is_empty()).count();
        let readings_users = processes.iter().filter(|p| !p.username.is_empty()).count();
        let (stats_processes, stats_cmdlines, stats_users) = stats_counts();
        Ok(Row::new()
            .set("readings_cmdlines", readings_cmdlines)
            .set("readings_users", readings_users)
            .set("stats_cmdlines", stats_cmdlines)
            .set("stats_users", stats_users)
            .set("processes", processes.len())
            .set("stats_processes", stats_processes)
            .into_table())
    }
}

/// (rows, rows with a non-empty `cmdline`, rows with a non-empty `username`) of processlist's
/// latest table; zeros when it has none.
fn stats_counts() -> (usize, usize, usize) {
    let Some(table) = stats::latest(PROCESSLIST) else {
        return (0, 0, 0);
    };
    let column = |name: &str| table.columns.iter().position(|c| c == name);
    let (cmdline, username) = (column("cmdline"), column("username"));
    let mut cmdlines = 0;
    let mut users = 0;
    for row in &table.rows {
        let cell = |index: Option<usize>| index.and_then(|i| row.get(i));
        if matches!(cell(cmdline), Some(Value::TextList(args)) if !args.is_empty()) {
            cmdlines += 1;
        }
        if matches!(cell(username), Some(Value::Text(user)) if !user.is_empty()) {
            users += 1;
        }
    }
    (table.rows.len(), cmdlines, users)
}

glint_sdk::export_input!(Snoop);
