//! What the terminal UI reacts to (stats, a lost server, keys, resizes) and how it is started.

use ratatui::crossterm::event::KeyEvent;

use crate::tui::model;

/// Everything the UI reacts to, from the data feed and from the terminal, on one channel.
#[derive(Debug)]
pub enum Input {
    /// A new `/api/3/all` snapshot (boxed: it is much bigger than the other variants).
    Stats(Box<model::Stats>),
    /// The feed lost its server; the text says why. The last stats stay on screen.
    Disconnected(String),
    /// A key press from the terminal.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize,
}

/// How the UI is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `HOST:PORT` of the server in client mode; `None` when glint monitors its own machine.
    pub title_source: Option<String>,
}
