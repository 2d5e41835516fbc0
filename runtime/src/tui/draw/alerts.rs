//! The alerts log at the bottom: Glances' "No warning or critical alert detected", or a title
//! and a line per alert (begin, duration or "ongoing", state, type, min/mean/max, top
//! processes), newest first as the server lists them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::cells::{decor_style, put, title_style, to_u16};
use crate::tui::app::App;
use crate::tui::format;
use crate::tui::model::{self, Decor};

/// Alerts listed at most: Glances keeps its last 10 events.
const MAX_ALERTS: usize = 10;
/// Screen lines per alert line allowed: the log takes at most an eighth of the screen, so
/// a burst of alerts does not push the process list away.
const SCREEN_LINES_PER_ALERT: u16 = 8;

/// Lines the log takes (none when hidden with `l` or before the first stats).
pub(super) fn height(app: &App, screen_h: u16) -> u16 {
    if !app.show.alerts || app.stats.is_none() {
        return 0;
    }
    1 + shown(app.alerts().len(), screen_h)
}

fn shown(alerts: usize, screen_h: u16) -> u16 {
    to_u16(alerts.min(MAX_ALERTS)).min(screen_h / SCREEN_LINES_PER_ALERT)
}

pub(super) fn draw(frame: &mut Frame, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let alerts = app.alerts();
    let count = usize::from(area.height - 1).min(alerts.len());
    let title = match count {
        0 => "No warning or critical alert detected".to_string(),
        1 => "Warning or critical alerts (last 1 entry)".to_string(),
        n => format!("Warning or critical alerts (last {n} entries)"),
    };
    let mut lines = vec![Line::from(Span::styled(title, title_style()))];
    lines.extend(
        alerts
            .iter()
            .take(count)
            .map(|alert| alert_line(app, alert)),
    );
    put(frame, area, lines);
}

/// `2026-12-01 20:06:40 (ongoing) - MEM_PERCENT (Min:70.1 Mean:71.3 Max:72.4): postgres, java`
/// An ongoing alert's type is coloured by its state; a finished one says its state in words.
fn alert_line(app: &App, alert: &Value) -> Line<'static> {
    let begin = model::int(alert, "begin");
    let state = model::text(alert, "state").unwrap_or("?");
    let kind = model::text(alert, "type").unwrap_or("?");
    let mut spans = vec![Span::raw(
        begin.map_or_else(|| "-".to_string(), |t| format::timestamp(t, &app.tz)),
    )];
    if model::alert_ongoing(alert) {
        spans.push(Span::raw(" (ongoing) - "));
        spans.push(Span::styled(
            kind.to_string(),
            decor_style(Decor::parse(state)),
        ));
    } else {
        let lasted = match (begin, model::int(alert, "end")) {
            (Some(begin), Some(end)) => format::duration(end.saturating_sub(begin)),
            _ => "-".to_string(),
        };
        spans.push(Span::raw(format!(" ({lasted}) - {state} on {kind}")));
    }
    let value = |field: &str| model::num(alert, field);
    match (value("min"), value("avg"), value("max")) {
        // Min and max the same to the decimal shown: the mean alone says it.
        (Some(min), Some(avg), Some(max)) if format!("{min:.1}") == format!("{max:.1}") => {
            spans.push(Span::raw(format!(" ({avg:.1})")));
        }
        (Some(min), Some(avg), Some(max)) => {
            spans.push(Span::raw(format!(
                " (Min:{min:.1} Mean:{avg:.1} Max:{max:.1})"
            )));
        }
        _ => {}
    }
    let top: Vec<&str> = alert
        .get("top")
        .and_then(Value::as_array)
        .map(|top| top.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !top.is_empty() {
        spans.push(Span::raw(format!(": {}", top.join(", "))));
    }
    Line::from(spans)
}
