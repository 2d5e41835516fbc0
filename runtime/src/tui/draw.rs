//! Draws the whole screen from the `App` in Glances' curses layout: the header line, the quick
//! look and the CPU/MEM/SWAP/LOAD blocks, a left column of per-device blocks beside the process
//! list, the alerts log and a footer; help and plugin panels over it.

mod alerts;
mod cells;
mod overlay;
mod procs;
mod side;
mod top;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::App;

pub use cells::CAREFUL_COLOR;

/// Below this width the left column and the process list's essential columns do not fit side
/// by side: a message instead of a garbled screen.
pub const MIN_WIDTH: u16 = 60;
/// Below this height the process list would keep fewer than 2 rows.
pub const MIN_HEIGHT: u16 = 16;

/// Draws one frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = format!(
            "Terminal too small ({}x{}): glint needs {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: true }), area);
        return;
    }
    let areas = Areas::of(app, area);
    top::header(frame, app, areas.header);
    match &app.stats {
        Some(stats) => {
            top::draw(frame, app, stats, areas.top);
            side::draw(frame, app, stats, areas.side);
            procs::summary(frame, app, stats, areas.summary, areas.procs.x);
            procs::draw(frame, app, stats, areas.procs);
            alerts::draw(frame, app, areas.alerts);
        }
        None => {
            let waiting = match &app.source {
                Some(source) => format!("Waiting for the first stats from {source}..."),
                None => "Waiting for the first stats...".to_string(),
            };
            frame.render_widget(Paragraph::new(waiting), areas.top);
        }
    }
    overlay::footer(frame, app, areas.footer);
    if app.plugins_panel {
        overlay::plugins(frame, app, area);
    }
    if app.help {
        overlay::help(frame, area);
    }
}

/// Process rows a frame of `area` shows (the PgUp/PgDn step).
pub fn process_rows(app: &App, area: Rect) -> usize {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return 0;
    }
    procs::list_rows(app, Areas::of(app, area).procs)
}

/// Where each part of the screen goes.
struct Areas {
    header: Rect,
    top: Rect,
    /// The TASKS line: a row of its own across the screen, so it is whole at 80 columns.
    summary: Rect,
    side: Rect,
    procs: Rect,
    alerts: Rect,
    footer: Rect,
}

impl Areas {
    /// The header, a blank line, the top blocks, a blank line, the TASKS line, the left column
    /// beside the process list, the alerts log, the footer.
    fn of(app: &App, area: Rect) -> Areas {
        let top_h = top::height(app, area.height);
        let alerts_h = alerts::height(app, area.height);
        let footer_y = area.height.saturating_sub(1);
        let alerts_y = footer_y.saturating_sub(alerts_h);
        let summary_y = top_h.saturating_add(3);
        let middle_y = summary_y.saturating_add(1);
        let middle = rows(area, middle_y, alerts_y.saturating_sub(middle_y));
        let side_w = side::width(app, area.width).min(middle.width);
        let gap = u16::from(side_w > 0 && side_w < middle.width);
        Areas {
            header: rows(area, 0, 1),
            top: rows(area, 2, top_h),
            summary: rows(area, summary_y, 1),
            side: Rect {
                width: side_w,
                ..middle
            },
            procs: Rect {
                x: middle.x.saturating_add(side_w + gap),
                width: middle.width.saturating_sub(side_w + gap),
                ..middle
            },
            alerts: rows(area, alerts_y, alerts_h),
            footer: rows(area, footer_y, 1),
        }
    }
}

/// `height` rows of `area` from its row `y`, cut to the area.
fn rows(area: Rect, y: u16, height: u16) -> Rect {
    let y = y.min(area.height);
    Rect::new(
        area.x,
        area.y.saturating_add(y),
        area.width,
        height.min(area.height - y),
    )
}
