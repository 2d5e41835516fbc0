//! The process list: the TASKS summary, Glances' columns (as many as the width allows, the
//! command line taking the rest) and a row per process, sorted and filtered as the App says,
//! the selected row highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use regex::Regex;
use serde_json::Value;

use super::cells::{decor_style, fit, fit_right, put, title_style};
use crate::tui::app::{App, SortKey};
use crate::tui::format::{self, Precision};
use crate::tui::model::{self, Stats};

/// Columns the command keeps before other columns are given up: enough of a program's name
/// to tell it from the others.
const MIN_COMMAND: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Cpu,
    Mem,
    Virt,
    Res,
    Pid,
    User,
    Thr,
    Ni,
    Status,
    Time,
    Read,
    Write,
}

/// Glances' column order.
const ORDER: [Col; 12] = [
    Col::Cpu,
    Col::Mem,
    Col::Virt,
    Col::Res,
    Col::Pid,
    Col::User,
    Col::Thr,
    Col::Ni,
    Col::Status,
    Col::Time,
    Col::Read,
    Col::Write,
];

/// Given up in this order until the command has `MIN_COMMAND` columns: Glances' optional ones
/// (I/O, threads, nice) first, then those a quick look misses least. CPU%, MEM%, RES and PID
/// always stay.
const DROP_ORDER: [&[Col]; 7] = [
    &[Col::Read, Col::Write],
    &[Col::Thr],
    &[Col::Ni],
    &[Col::Virt],
    &[Col::Time],
    &[Col::Status],
    &[Col::User],
];

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Cpu => "CPU%",
            Col::Mem => "MEM%",
            Col::Virt => "VIRT",
            Col::Res => "RES",
            Col::Pid => "PID",
            Col::User => "USER",
            Col::Thr => "THR",
            Col::Ni => "NI",
            Col::Status => "S",
            Col::Time => "TIME+",
            Col::Read => "R/s",
            Col::Write => "W/s",
        }
    }

    /// The widest value each prints: `100.0`, `1023M`, `99:59:59`, a PID of `pid_w` digits.
    fn width(self, pid_w: usize) -> usize {
        match self {
            Col::Cpu | Col::Mem | Col::Virt | Col::Res | Col::Read | Col::Write => 5,
            Col::Pid => pid_w,
            Col::User | Col::Time => 8,
            Col::Thr => 4,
            Col::Ni => 3,
            Col::Status => 1,
        }
    }

    /// The field whose view decorates the column.
    fn field(self) -> Option<&'static str> {
        match self {
            Col::Cpu => Some("cpu_percent"),
            Col::Mem => Some("memory_percent"),
            Col::Virt => Some("memory_info.vms"),
            Col::Res => Some("memory_info.rss"),
            Col::Pid => Some("pid"),
            Col::User => Some("username"),
            Col::Thr => Some("num_threads"),
            Col::Ni => Some("nice"),
            Col::Status => Some("status"),
            Col::Time | Col::Read | Col::Write => None,
        }
    }

    fn sorts(self, key: SortKey) -> bool {
        matches!(
            (self, key),
            (Col::Cpu, SortKey::Cpu)
                | (Col::Mem, SortKey::Mem)
                | (Col::Pid, SortKey::Pid)
                | (Col::User, SortKey::User)
                | (Col::Time, SortKey::Time)
                | (Col::Read | Col::Write, SortKey::Io)
        )
    }

    /// The cell's text.
    fn text(self, process: &Value) -> String {
        let dash = || "-".to_string();
        let int = |field: &str| model::int(process, field).map_or_else(dash, |n| n.to_string());
        let size = |field: &str| {
            model::num(process, field).map_or_else(dash, |v| format::auto_unit(v, Precision::Low))
        };
        match self {
            // Glances drops the decimal from 100% up (a process on several cores).
            Col::Cpu => model::num(process, "cpu_percent").map_or_else(dash, |v| {
                if v >= 100.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            }),
            Col::Mem => {
                model::num(process, "memory_percent").map_or_else(dash, |v| format!("{v:.1}"))
            }
            Col::Virt => size("memory_info.vms"),
            Col::Res => size("memory_info.rss"),
            Col::Pid => int("pid"),
            Col::User => model::text(process, "username").map_or_else(dash, str::to_string),
            Col::Thr => int("num_threads"),
            Col::Ni => int("nice"),
            Col::Status => model::text(process, "status").map_or_else(dash, str::to_string),
            Col::Time => model::cpu_seconds(process).map_or_else(dash, format::cpu_time),
            Col::Read | Col::Write => match model::io_rates(process) {
                Some((read, write)) => io_rate(if self == Col::Read { read } else { write }),
                // Glances' mark for counters the user may not read.
                None => "?".to_string(),
            },
        }
    }
}

fn io_rate(rate: f64) -> String {
    if rate < 1.0 {
        "0".to_string()
    } else {
        format::auto_unit(rate, Precision::Low)
    }
}

/// The columns that fit `width` with at least `MIN_COMMAND` left for the command.
fn columns(width: usize, pid_w: usize) -> Vec<Col> {
    let used = |cols: &[Col]| cols.iter().map(|c| c.width(pid_w) + 1).sum::<usize>();
    let mut cols = ORDER.to_vec();
    for dropped in DROP_ORDER {
        if used(&cols) + MIN_COMMAND <= width {
            break;
        }
        cols.retain(|col| !dropped.contains(col));
    }
    cols
}

/// Digits of the biggest PID the server may show (`pid_max - 1`) or shows; at least the
/// title's 3.
fn pid_width(stats: &Stats) -> usize {
    let pid_max = stats
        .value("processcount")
        .and_then(|count| model::int(count, "pid_max"))
        .map_or(0, |max| max.saturating_sub(1));
    let shown = stats
        .rows("processlist")
        .iter()
        .filter_map(|process| model::int(process, "pid"))
        .max()
        .unwrap_or(0);
    pid_max.max(shown).max(0).to_string().len().max(3)
}

/// Lines above the rows: the filter when there is one, the column heads.
fn head_lines(app: &App) -> u16 {
    1 + u16::from(app.filter.is_some())
}

/// Process rows that fit `area`.
pub(super) fn list_rows(app: &App, area: Rect) -> usize {
    usize::from(area.height.saturating_sub(head_lines(app)))
}

pub(super) fn draw(frame: &mut Frame, app: &App, stats: &Stats, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let processes = app.processes();
    let mut lines = Vec::new();
    if let Some(filter) = &app.filter {
        lines.push(filter_line(filter, processes.len()));
    }
    let width = usize::from(area.width);
    let pid_w = pid_width(stats);
    let cols = columns(width, pid_w);
    let command_w = width.saturating_sub(cols.iter().map(|c| c.width(pid_w) + 1).sum());
    lines.push(heads(&cols, pid_w, app.sort_key()));
    let rows = list_rows(app, area);
    // Scrolled just enough to keep the selected row on screen.
    let offset = app
        .selected
        .map_or(0, |selected| (selected + 1).saturating_sub(rows));
    let selected_style = Style::new().add_modifier(Modifier::REVERSED);
    for (position, &(index, process)) in processes.iter().enumerate().skip(offset).take(rows) {
        let line = row(stats, index, process, &cols, pid_w, command_w);
        lines.push(if app.selected == Some(position) {
            line.style(selected_style)
        } else {
            line
        });
    }
    put(frame, area, lines);
}

/// The TASKS line in `strip` (a whole screen row): above the process list when it fits
/// there, else from the left edge.
pub(super) fn summary(frame: &mut Frame, app: &App, stats: &Stats, strip: Rect, procs_x: u16) {
    let line = summary_line(app, stats);
    let procs_w = usize::from(strip.right().saturating_sub(procs_x));
    let x = if line.width() <= procs_w {
        procs_x
    } else {
        strip.x
    };
    let rect = Rect {
        x,
        width: strip.right().saturating_sub(x),
        ..strip
    };
    put(frame, rect, vec![line]);
}

/// `TASKS 66 (111 thr), 1 run, 28 slp, 37 oth  sorted automatically by CPU`.
fn summary_line(app: &App, stats: &Stats) -> Line<'static> {
    let count = |field: &str| {
        stats
            .value("processcount")
            .and_then(|counts| model::int(counts, field))
    };
    let show = |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    let (total, running, sleeping) = (count("total"), count("running"), count("sleeping"));
    let other = match (total, running, sleeping) {
        (Some(t), Some(r), Some(s)) => Some(t.saturating_sub(r).saturating_sub(s)),
        _ => None,
    };
    let counts = format!(
        " {} ({} thr), {} run, {} slp, {} oth  ",
        show(total),
        show(count("thread")),
        show(running),
        show(sleeping),
        show(other)
    );
    let sort = match app.sort {
        None => format!("sorted automatically by {}", app.sort_key().label()),
        Some(key) => format!("sorted by {}", key.label()),
    };
    Line::from(vec![
        Span::styled("TASKS", title_style()),
        Span::raw(counts),
        Span::raw(sort),
    ])
}

fn filter_line(filter: &Regex, shown: usize) -> Line<'static> {
    Line::from(vec![
        Span::styled("Processes filter: ", title_style()),
        Span::styled(filter.as_str().to_string(), Style::new().fg(Color::Yellow)),
        Span::raw(format!(
            "  ({shown} shown; / edits it, an empty one clears it)"
        )),
    ])
}

/// The column heads, the sorted column underlined (Glances' SORT).
fn heads(cols: &[Col], pid_w: usize, sort: SortKey) -> Line<'static> {
    let sorted = title_style().add_modifier(Modifier::UNDERLINED);
    let mut spans = Vec::new();
    for col in cols {
        let width = col.width(pid_w);
        let title = col.title();
        let pad = " ".repeat(width.saturating_sub(title.len()));
        let style = if col.sorts(sort) {
            sorted
        } else {
            title_style()
        };
        // Padding outside the underline; USER reads left to right, numbers right-aligned.
        if *col == Col::User {
            spans.push(Span::styled(title, style));
            spans.push(Span::raw(pad));
        } else {
            spans.push(Span::raw(pad));
            spans.push(Span::styled(title, style));
        }
        spans.push(Span::raw(" "));
    }
    let style = if sort == SortKey::Name {
        sorted
    } else {
        title_style()
    };
    spans.push(Span::styled("Command", style));
    Line::from(spans)
}

/// One process: its cells, then its command line (`[name]` for a kernel thread), padded so a
/// highlight spans the row.
fn row(
    stats: &Stats,
    index: usize,
    process: &Value,
    cols: &[Col],
    pid_w: usize,
    command_w: usize,
) -> Line<'static> {
    let mut spans = Vec::with_capacity(cols.len() * 2 + 1);
    for col in cols {
        let width = col.width(pid_w);
        let text = col.text(process);
        let text = if *col == Col::User {
            fit(&text, width)
        } else {
            fit_right(&text, width)
        };
        let style = col.field().map_or_else(Style::new, |field| {
            decor_style(stats.decoration("processlist", Some(index), field))
        });
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    let mut command = model::command_line(process);
    if command.is_empty() {
        command = format!("[{}]", model::text(process, "name").unwrap_or("?"));
    }
    spans.push(Span::raw(fit(&command, command_w)));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_lists_give_up_the_optional_columns_first() {
        // 80 columns: 30 for the left column, 1 between, 49 here.
        assert_eq!(
            columns(49, 5),
            [
                Col::Cpu,
                Col::Mem,
                Col::Res,
                Col::Pid,
                Col::User,
                Col::Status
            ]
        );
        // Wide: everything.
        assert_eq!(columns(159, 5), ORDER);
        // Too narrow for even the essentials: they stay, the command shrinks.
        assert_eq!(columns(20, 5), [Col::Cpu, Col::Mem, Col::Res, Col::Pid]);
        // I/O goes first.
        let some = columns(80, 5);
        assert!(
            !some.contains(&Col::Read) && some.contains(&Col::Time),
            "{some:?}"
        );
    }

    #[test]
    fn cells_tolerate_missing_fields() {
        let empty = serde_json::json!({});
        for col in ORDER {
            let text = col.text(&empty);
            assert!(text == "-" || text == "?", "{col:?}: {text}");
        }
        let busy = serde_json::json!({"cpu_percent": 395.24});
        assert_eq!(Col::Cpu.text(&busy), "395");
    }
}
