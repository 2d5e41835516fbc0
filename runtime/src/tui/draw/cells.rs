//! What every block of the screen draws with: the styles of decorations and titles, text cut
//! or padded to a width, and lines put into an area.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::plugins::host::moves_text;
use crate::tui::model::{Decor, Decoration};

/// Glances' CAREFUL is blue; ANSI blue on a dark background is hard to read (xterm's default
/// blue on black is about 2.3:1, under the 3:1 contrast text needs), cyan stays readable on
/// dark and light themes alike and is still "cooler" than WARNING's magenta.
pub const CAREFUL_COLOR: Color = Color::Cyan;

/// The style Glances gives a decoration. The `_LOG` ones (a limit that raises alerts) are
/// reversed, as Glances paints them on a coloured background; OK_LOG is not: an OK value
/// raises nothing, and it is what most logged fields are most of the time.
pub(super) fn decor_style(decor: Decor) -> Style {
    let color = match decor.decoration {
        Decoration::Default => return Style::new(),
        Decoration::Ok => return Style::new().fg(Color::Green),
        Decoration::Careful => CAREFUL_COLOR,
        Decoration::Warning => Color::Magenta,
        Decoration::Critical => Color::Red,
    };
    let style = Style::new().fg(color);
    if decor.logged {
        style.add_modifier(Modifier::REVERSED)
    } else {
        style
    }
}

/// Block titles and column heads (Glances' TITLE).
pub(super) fn title_style() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// `text` cut or padded with spaces to `width` columns, on the left. Control characters
/// (a tab in a command line) become spaces: the terminal would move the cursor for them.
pub(super) fn fit(text: &str, width: usize) -> String {
    let mut out: String = text
        .chars()
        // Also the bidi overrides: a process named with U+202E would reorder its row.
        .map(|c| if moves_text(c) { ' ' } else { c })
        .take(width)
        .collect();
    let len = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width - len));
    out
}

/// `text` cut or padded to `width` columns, on the right.
pub(super) fn fit_right(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len >= width {
        fit(text, width)
    } else {
        format!("{}{}", " ".repeat(width - len), fit(text, len))
    }
}

/// `text` if it fits `width` columns, else its start and `…`.
pub(super) fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return fit(text, text.chars().count());
    }
    let mut out = fit(text, width.saturating_sub(1));
    out.push('…');
    out
}

/// A count as a terminal coordinate (anything bigger than a screen is as good as `u16::MAX`).
pub(super) fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Draws `lines` from the top of `area` (cut to it).
pub(super) fn put(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_move_the_cursor_or_reorder_a_row_is_blanked() {
        // A tab, an escape, and a right-to-left override a process name may carry.
        assert_eq!(fit("a\tb\u{1b}[2Jc\u{202e}d", 10), "a b [2Jc d");
        assert_eq!(fit_right("\u{2066}x", 4), "   x");
    }
}
