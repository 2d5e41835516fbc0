//! The terminal UI's thread, in both its modes: fed by this process's ticks, or by a remote
//! server's event stream (`-c HOST`).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, bail};
use glint::settings::config::Config;

use crate::app::args::Cli;
use crate::app::serve::read_password;

/// The terminal UI, drawn on a thread of its own while the ticks go on.
pub struct Ui {
    pub tx: std::sync::mpsc::Sender<glint::tui::Input>,
    /// Closed when the UI ends (the user quit, or the terminal failed).
    pub done: std::sync::mpsc::Receiver<std::io::Result<()>>,
}

impl Ui {
    /// Waits up to `timeout`; `Some` once the UI has ended, with how.
    pub fn wait(&self, timeout: Duration) -> Option<anyhow::Result<()>> {
        ui_ended(&self.done, timeout)
    }
}

/// Whether the UI ended within `timeout`, and how.
fn ui_ended(
    done: &std::sync::mpsc::Receiver<std::io::Result<()>>,
    timeout: Duration,
) -> Option<anyhow::Result<()>> {
    use std::sync::mpsc::RecvTimeoutError;
    match done.recv_timeout(timeout) {
        Ok(result) => Some(result.context("the terminal UI failed")),
        Err(RecvTimeoutError::Timeout) => None,
        // The UI's thread ended without its result: it panicked (the hook has put the
        // terminal back and printed why).
        Err(RecvTimeoutError::Disconnected) => {
            Some(Err(anyhow::anyhow!("the terminal UI stopped on a panic")))
        }
    }
}

pub fn start_ui(options: glint::tui::Options) -> anyhow::Result<Ui> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done) = std::sync::mpsc::channel();
    let keys = tx.clone();
    std::thread::Builder::new()
        .name("glint-tui".into())
        .spawn(move || {
            let _ = done_tx.send(glint::tui::run(rx, keys, options));
        })
        .context("cannot start the terminal UI")?;
    Ok(Ui { tx, done })
}

/// `glint -c HOST`: the terminal UI over a remote server's API; no plugin runs here.
pub fn run_client(
    cli: &Cli,
    config: &Config,
    target: &str,
) -> anyhow::Result<std::process::ExitCode> {
    if cli.server
        || cli.webserver
        || cli.stdout.is_some()
        || cli.stdout_json.is_some()
        || cli.stdout_csv.is_some()
    {
        bail!(
            "-c {target}: client mode shows a remote server; it cannot be combined with -s, -w or --stdout"
        );
    }
    if !std::io::stdout().is_terminal() {
        bail!(
            "-c {target}: stdout is not a terminal, so there is no screen for the terminal UI; run it in a terminal"
        );
    }
    let credentials = if cli.password {
        let username = cli
            .username
            .clone()
            .unwrap_or_else(|| config.server.username.clone());
        Some((username, read_password(false)?))
    } else {
        None
    };
    let remote = glint::tui::feed::Remote::parse(target, credentials, config.server.port)
        .map_err(anyhow::Error::msg)?;
    let ui = start_ui(glint::tui::Options {
        title_source: Some(remote.address.clone()),
    })?;
    let feed = ui.tx.clone();
    std::thread::Builder::new()
        .name("glint-client".into())
        .spawn(move || remote.run(feed))
        .context("cannot start the client's feed")?;
    drop(ui.tx);
    // Until the UI ends: an hour at a time, as long as it runs.
    loop {
        if let Some(result) = ui_ended(&ui.done, Duration::from_secs(3600)) {
            return result.map(|()| std::process::ExitCode::SUCCESS);
        }
    }
}
