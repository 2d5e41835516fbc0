//! What is drawn over or under the stats: the help panel, the WASM plugins panel, and the
//! footer line (the server's clock, or the filter prompt while it is typed).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::cells::{decor_style, fit, fit_right, put, title_style, to_u16};
use crate::tui::app::App;
use crate::tui::format::{self, Precision};
use crate::tui::model::{Decor, Decoration, PluginStatus};

/// Every key, as the help panel lists them.
const KEYS: [(&str, &str); 23] = [
    ("a", "sort automatically"),
    ("c", "sort by CPU%"),
    ("m", "sort by MEM%"),
    ("i", "sort by I/O rate"),
    ("p", "sort by name"),
    ("t", "sort by CPU time"),
    ("u", "sort by user"),
    ("N", "sort by PID (n: network)"),
    ("/ Enter", "filter processes (regex)"),
    ("↑ ↓ PgUp PgDn", "select a process"),
    ("Home End", "first / last process"),
    ("1", "per-CPU bars"),
    ("b", "network bytes / bits"),
    ("d", "show/hide disk I/O"),
    ("n", "show/hide network"),
    ("f", "show/hide filesystems"),
    ("s", "show/hide sensors"),
    ("l", "show/hide alerts log"),
    ("w", "clear finished warnings"),
    ("x", "clear finished alerts"),
    ("P", "show/hide plugins panel"),
    ("h", "show/hide this help"),
    ("q Esc Ctrl-C", "quit"),
];
/// The longest key (`↑ ↓ PgUp PgDn`) and description (`filter processes (regex)`).
const KEY_W: usize = 13;
const DESC_W: usize = 24;
/// Between the two columns of the help: with it two columns are 78 wide, inside the border
/// of an 80-column screen.
const HELP_GAP: usize = 2;

/// A `width` x `height` rectangle in the middle of `area` (cut to it).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Draws `lines` in a bordered box titled `title`, over whatever is under it.
fn panel(frame: &mut Frame, area: Rect, title: &'static str, lines: Vec<Line<'static>>) {
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The keys in two columns when they fit (80 columns do), else one.
pub(super) fn help(frame: &mut Frame, area: Rect) {
    let entry_w = KEY_W + 1 + DESC_W;
    let two = usize::from(area.width) >= 2 * entry_w + HELP_GAP + 2;
    let entry = |(key, what): (&str, &str)| {
        [
            Span::styled(fit(key, KEY_W), title_style()),
            Span::raw(format!(" {}", fit(what, DESC_W))),
        ]
    };
    let lines: Vec<Line<'static>> = if two {
        let half = KEYS.len().div_ceil(2);
        (0..half)
            .map(|i| {
                let mut spans = entry(KEYS[i]).to_vec();
                if let Some(&right) = KEYS.get(i + half) {
                    spans.push(Span::raw(" ".repeat(HELP_GAP)));
                    spans.extend(entry(right));
                }
                Line::from(spans)
            })
            .collect()
    } else {
        KEYS.iter()
            .map(|&key| Line::from(entry(key).to_vec()))
            .collect()
    };
    let inner_w = if two { 2 * entry_w + HELP_GAP } else { entry_w };
    let popup = centered(area, to_u16(inner_w + 2), to_u16(lines.len() + 2));
    panel(frame, popup, " glint keys (h or Esc closes) ", lines);
}

/// The plugins panel's columns: head, width, left-aligned.
const PLUGIN_COLS: [(&str, usize, bool); 9] = [
    ("NAME", 12, true),
    ("KIND", 7, true),
    ("STATUS", 11, true),
    ("CALLS", 7, false),
    ("ERRORS", 6, false),
    // The last call's time, and how long compiling the component took (so far, while it
    // compiles): narrow enough for the whole panel to fit 80 columns.
    ("LAST", 7, false),
    ("MEMORY", 6, false),
    ("RESTART", 7, false),
    ("COMPILE", 7, false),
];

/// Every WASM plugin with its health: how often it ran, failed and was restarted, its last
/// call's time and its memory.
pub(super) fn plugins(frame: &mut Frame, app: &App, area: Rect) {
    let plugins = app
        .stats
        .as_ref()
        .map_or(&[][..], |stats| stats.plugins.as_slice());
    let heads = PLUGIN_COLS.map(|(head, _, _)| (head.to_string(), title_style()));
    let mut lines = vec![plugin_line(heads)];
    if plugins.is_empty() {
        lines.push(Line::from("No plugin status received yet."));
    }
    lines.extend(
        plugins
            .iter()
            .map(|plugin| plugin_line(plugin_cells(plugin))),
    );
    let width: usize = PLUGIN_COLS.iter().map(|(_, w, _)| w + 1).sum::<usize>() - 1;
    let popup = centered(area, to_u16(width + 2), to_u16(lines.len() + 2));
    panel(frame, popup, " WASM plugins (P or Esc closes) ", lines);
}

fn plugin_cells(plugin: &PluginStatus) -> [(String, Style); 9] {
    let warn_if = |n: u64| {
        if n > 0 {
            decor_style(Decor::new(Decoration::Warning))
        } else {
            Style::new()
        }
    };
    let memory = plugin.memory_bytes.map_or_else(
        || "-".to_string(),
        |m| format::auto_unit(m as f64, Precision::Normal),
    );
    [
        (plugin.name.clone(), title_style()),
        (plugin.kind.clone(), Style::new()),
        (plugin.status.clone(), status_style(&plugin.status)),
        (count(plugin.calls), Style::new()),
        (count(plugin.errors), warn_if(plugin.errors)),
        (format::micros(plugin.last_call_micros), Style::new()),
        (memory, Style::new()),
        (count(plugin.restarts), warn_if(plugin.restarts)),
        (compile_time(plugin), Style::new()),
    ]
}

/// How long compiling its component took, or has taken so far while it compiles ("-" when
/// unknown: an older glint, or not loaded).
fn compile_time(plugin: &PluginStatus) -> String {
    let millis = match (plugin.compile_ms, plugin.compiling_since_millis) {
        (Some(ms), _) => ms,
        (None, Some(since)) => crate::stats::unix_millis_now()
            .unwrap_or(since)
            .saturating_sub(since),
        (None, None) => return "-".to_string(),
    };
    format::micros(millis.saturating_mul(1000))
}

/// A count in its column: whole up to 7 digits, then in `auto_unit` form.
fn count(n: u64) -> String {
    if n < 10_000_000 {
        n.to_string()
    } else {
        format::auto_unit(n as f64, Precision::Low)
    }
}

/// Running plugins green, failing, quarantined or refused ones red, restarting, throttled or
/// compiling ones magenta.
fn status_style(status: &str) -> Style {
    let status = status.to_ascii_lowercase();
    let decoration = if ["running", "ok", "ready", "idle"].contains(&status.as_str()) {
        Decoration::Ok
    } else if [
        "fail",
        "quarantin",
        "refused",
        "dead",
        "crash",
        "error",
        "poison",
    ]
    .iter()
    .any(|word| status.contains(word))
    {
        Decoration::Critical
    } else if ["restart", "backoff", "starting", "throttl", "compil"]
        .iter()
        .any(|word| status.contains(word))
    {
        Decoration::Warning
    } else {
        Decoration::Default
    };
    decor_style(Decor::new(decoration))
}

fn plugin_line(cells: [(String, Style); 9]) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, ((text, style), (_, width, left))) in cells.into_iter().zip(PLUGIN_COLS).enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let text = if left {
            fit(&text, width)
        } else {
            fit_right(&text, width)
        };
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// The bottom line: the filter prompt while it is open, else the server's clock on the left
/// and where the keys are on the right.
pub(super) fn footer(frame: &mut Frame, app: &App, area: Rect) {
    if let Some(prompt) = &app.prompt {
        let cursor = Style::new().add_modifier(Modifier::REVERSED);
        let mut spans = vec![
            Span::styled("Process filter (regex): ", title_style()),
            Span::raw(fit(&prompt.text, prompt.text.chars().count())),
            Span::styled(" ", cursor),
        ];
        match &prompt.error {
            Some(error) => {
                let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
                spans.push(Span::styled(format!("  {error}"), red));
            }
            None => spans.push(Span::raw("  Enter applies, Esc cancels, empty clears")),
        }
        put(frame, area, vec![Line::from(spans)]);
        return;
    }
    let now = app.stats.as_ref().and_then(|stats| {
        stats
            .text("now", "custom")
            .or_else(|| stats.text("now", "iso"))
    });
    if let Some(now) = now {
        put(frame, area, vec![Line::from(fit(now, now.chars().count()))]);
    }
    let hint = "h: help";
    let hint_w = to_u16(hint.len());
    if hint_w < area.width {
        let right = Rect {
            x: area.right() - hint_w,
            width: hint_w,
            ..area
        };
        put(frame, right, vec![Line::from(hint)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supervisor_status_has_its_colour() {
        let of = |d| decor_style(Decor::new(d));
        assert_eq!(status_style("running"), of(Decoration::Ok));
        for bad in ["quarantined", "refused", "stopped-on-crash"] {
            assert_eq!(status_style(bad), of(Decoration::Critical), "{bad}");
        }
        for waiting in ["restarting", "throttled", "compiling"] {
            assert_eq!(status_style(waiting), of(Decoration::Warning), "{waiting}");
        }
    }
}
