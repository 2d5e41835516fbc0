//! The terminal UI: Glances' curses screen drawn with ratatui from Glances-compatible stats,
//! redrawn on each stats update and key press only (one blocking channel, no timer).

pub mod app;
pub mod draw;
pub mod feed;
pub mod format;
pub mod input;
pub mod model;
pub mod term;

#[cfg(test)]
mod tests;

use std::io;
use std::sync::mpsc::{Receiver, Sender};

use app::App;
pub use input::{Input, Options};

/// Runs the UI until the user quits: sets the terminal up, reads keys on a thread that sends
/// them with `tx`, draws after each input from `rx`, and restores the terminal on the way out
/// (also on error; a panic hook covers panics).
pub fn run(rx: Receiver<Input>, tx: Sender<Input>, options: Options) -> io::Result<()> {
    let mut terminal = term::enter()?;
    let result = term::spawn_input_reader(tx)
        .and_then(|_| event_loop(&mut terminal, &rx, App::new(options)));
    let restored = term::leave();
    result.and(restored)
}

fn event_loop(terminal: &mut term::Tui, rx: &Receiver<Input>, mut app: App) -> io::Result<()> {
    loop {
        let area = terminal.draw(|frame| draw::draw(frame, &app))?.area;
        app.page = draw::process_rows(&app, area);
        // Block until something happens: no timer, so an idle UI takes no CPU. Every sender
        // gone (feed and key reader) means nothing can happen any more.
        let Ok(input) = rx.recv() else {
            return Ok(());
        };
        if !app.handle_input(input) {
            return Ok(());
        }
        // Take whatever else is queued (key repeat, a burst of resizes) before drawing once.
        while let Ok(input) = rx.try_recv() {
            if !app.handle_input(input) {
                return Ok(());
            }
        }
    }
}
