//! The real terminal: raw mode, alternate screen and hidden cursor on entry, put back on quit,
//! on error and on panic; and the thread that turns terminal events into `Input`s.

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::{ExecutableCommand, cursor, terminal};

use super::input::Input;

/// The terminal the UI draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is in the UI's mode, so that restoring twice (quit, then a panic in
/// what follows) writes nothing the second time.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The panic hook is chained once per process, however many times the UI starts.
static HOOK: Once = Once::new();

/// Raw mode, the alternate screen, no cursor; the panic hook puts the terminal back.
pub fn enter() -> io::Result<Tui> {
    install_panic_hook();
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let opened = open();
    if opened.is_err() {
        // The error that stopped us is the one to report, not a failure to restore.
        let _ = leave();
    }
    opened
}

fn open() -> io::Result<Tui> {
    io::stdout()
        .execute(terminal::EnterAlternateScreen)?
        .execute(cursor::Hide)?;
    let mut tui = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    tui.hide_cursor()?;
    tui.clear()?;
    Ok(tui)
}

/// Puts the terminal back as it was: cooked mode, the main screen, a cursor. Every step runs
/// even when one fails (a half-restored terminal is worse); the first error is returned.
pub fn leave() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let raw = terminal::disable_raw_mode();
    let mut stdout = io::stdout();
    let screen = stdout.execute(terminal::LeaveAlternateScreen).map(|_| ());
    let shown = stdout.execute(cursor::Show).map(|_| ());
    raw.and(screen).and(shown)
}

/// A panic restores the terminal first, so its message is readable, then reports as before.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = leave();
            previous(info);
        }));
    });
}

/// Starts the thread that forwards key presses and resizes to the UI's channel. It blocks in
/// `event::read` (no polling) and ends at the first send after the UI has gone, or when the
/// terminal can no longer be read.
pub fn spawn_input_reader(tx: Sender<Input>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("tui-input".to_string())
        .spawn(move || read_events(&tx))
}

fn read_events(tx: &Sender<Input>) {
    loop {
        let input = match event::read() {
            Ok(Event::Key(key)) => Input::Key(key),
            Ok(Event::Resize(..)) => Input::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(input).is_err() {
            return;
        }
    }
}
