//! The run loop: ticks the monitor and hands each snapshot to every consumer (exporters,
//! events, stdout, the terminal UI), the one place where that happens; with `main.rs`, the
//! binary's edge (the library below it has no `anyhow`).
pub mod args;
pub mod config;
pub mod serve;
pub mod trim;
pub mod ui;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use glint::monitor::{Monitor, Refused};
use glint::plugins::engine::GlintEngine;
use glint::plugins::load::PluginFile;
use glint::server::Options;
use glint::settings::auth::Credentials;
use glint::settings::config::Config;
use glint::settings::limits::EXPORT_DEADLINE;
use glint::stats::events::{Hub, Tracker};
use glint::stats::snapshot::Snapshot;
use glint::stdout::{Format, Printer, StdoutError};
use host_collectors::Source;

use crate::app::args::{Cli, Command, split_list};
use crate::app::ui::{Ui, start_ui};

/// When this process started: start-up is measured to the first complete tick.
pub static STARTED: OnceLock<Instant> = OnceLock::new();

/// What a run does besides ticking, told from the flags (before any plugin is compiled, so
/// a missing terminal or a bad address is said at once).
pub struct Modes {
    /// The API server's settings, when serving (`-s`, `-w`).
    server: Option<(Options, Option<Credentials>)>,
    /// The terminal UI: the default mode, or beside the others with --tui.
    ui: bool,
}

impl Modes {
    pub fn of(cli: &Cli, config: &Config) -> anyhow::Result<Modes> {
        let serving = cli.server || cli.webserver;
        let printing =
            cli.stdout.is_some() || cli.stdout_json.is_some() || cli.stdout_csv.is_some();
        let exporting = !cli.export.is_empty()
            || glint::embedded::DEFAULT_PLUGINS
                .iter()
                .any(|p| p.exporter && config.exports(p.name));
        // Exporting with no terminal (a service) runs headless, as -q does.
        let headless = cli.quiet || (exporting && !cli.tui && !std::io::stdout().is_terminal());
        let ui = cli.command.is_none() && (cli.tui || (!printing && !serving && !headless));
        if ui && !std::io::stdout().is_terminal() {
            bail!(
                "stdout is not a terminal, so there is no screen for the terminal UI; use --stdout LIST (or --stdout-json, --stdout-csv) to print stats, -s to serve the API, or -w for the web UI"
            );
        }
        let server = if serving {
            Some(serve::server_settings(cli, config)?)
        } else {
            None
        };
        Ok(Modes { server, ui })
    }
}

/// The compile cache's directory, unless `--no-cache`.
pub fn cache_dir(cli: &Cli) -> Option<std::path::PathBuf> {
    if cli.no_cache {
        return None;
    }
    cli.cache_dir
        .clone()
        .or_else(GlintEngine::default_cache_dir)
}

/// Loads the plugins: the embedded ones the config enables, `--plugin` files and the plugins
/// directory's. Listing them (`glint plugins`) starts no exporter: it would send, or replay a
/// service's spilled batches.
pub fn start_monitor(
    cli: &Cli,
    mut config: Config,
    engine: GlintEngine,
) -> anyhow::Result<(Monitor, Vec<Refused>)> {
    let mut extra = Vec::new();
    for path in &cli.plugins {
        extra
            .push(PluginFile::read(path, None).map_err(|e| {
                anyhow::anyhow!("--plugin {}: {e}; check the path", path.display())
            })?);
    }
    let plugins_dir = cli.plugins_dir.clone().or_else(|| config.plugins_dir());
    if let Some(Command::Plugins) = cli.command {
        for p in glint::embedded::DEFAULT_PLUGINS
            .iter()
            .filter(|p| p.exporter)
        {
            if let Some(section) = config.plugins.get_mut(p.name) {
                section.enable = None;
            }
        }
    }
    let started = Instant::now();
    // Running on, glint serves and ticks while large components compile. A listing says what a
    // start runs, and `--once` prints (and exports) one complete tick: both wait for them.
    let once = cli.once && !(cli.server || cli.webserver);
    let (monitor, refused) = if matches!(cli.command, Some(Command::Plugins)) || once {
        Monitor::new(config, engine, Source::live(), extra, plugins_dir)
    } else {
        Monitor::new_compiling_in_background(config, engine, Source::live(), extra, plugins_dir)
    };
    // Another glint exports through the same spill directory: glint stops, as on a bad
    // exporter setting (see `Monitor::spill_conflicts` for why). Listing the plugins goes
    // on: the conflict is logged, and a running glint is no reason not to list.
    if let Some(conflict) = monitor.spill_conflicts().first()
        && !matches!(cli.command, Some(Command::Plugins))
    {
        bail!("{conflict}");
    }
    tracing::info!(
        "{} plugins loaded in {:?}",
        monitor.actors().len(),
        started.elapsed()
    );
    Ok((monitor, refused))
}

/// What the run loop does after a snapshot was handed round.
enum Next {
    Tick,
    /// End now (the reader of stdout went away).
    End,
    /// Stop the exporters (they spill what they hold), then end.
    Stop,
}

/// Everything a snapshot is handed to, besides the store the server reads.
struct Consumers {
    hub: Hub,
    tracker: Tracker,
    /// The plugins' lifecycle digest at the last tick.
    lifecycle: Option<u64>,
    printer: Option<Printer>,
    ui: Option<Ui>,
    serving: bool,
    once: bool,
}

impl Consumers {
    /// Hands `snapshot` to the exporters, the event stream, stdout and the terminal UI.
    fn hand(&mut self, monitor: &Monitor, snapshot: &Arc<Snapshot>) -> anyhow::Result<Next> {
        for exporter in monitor.exporters() {
            exporter.offer(snapshot);
        }
        // Plugin events only when some plugin's state moved: making every status each tick
        // would cost more than the rest of the loop.
        let board = monitor.store().board();
        let lifecycle = board.lifecycle();
        let statuses = (Some(lifecycle) != self.lifecycle).then(|| board.statuses());
        self.lifecycle = Some(lifecycle);
        for event in self.tracker.observe(snapshot, statuses.as_deref()) {
            self.hub.send(event);
        }
        // The first tick only primes the counters: rates need two.
        if snapshot.seq >= 2
            && let Some(printer) = self.printer.as_mut()
        {
            let text = match printer.print(snapshot) {
                // A plugin compiling in the background has no stats yet: printed once it has.
                Err(StdoutError::UnknownPlugin { .. }) if monitor.compiling() => None,
                printed => Some(printed?),
            };
            if let Some(text) = text
                && let Some(next) = self.write_stdout(&text)
            {
                return Ok(next);
            }
        }
        if let Some(ui) = &self.ui
            && let Some(stats) = glint::tui::feed::local_stats(snapshot, &monitor.store())
        {
            // The UI has quit when it stops listening; `wait` in the loop tells why.
            let _ = ui.tx.send(glint::tui::Input::Stats(Box::new(stats)));
        }
        Ok(Next::Tick)
    }

    /// Prints one snapshot's text: what the loop does next if that ends it (the reader went
    /// away, or `--once` printed its one line).
    fn write_stdout(&mut self, text: &str) -> Option<Next> {
        // Not locked for the whole run: the terminal UI's thread writes to it too.
        let mut stdout = std::io::stdout();
        if stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            // The reader went away (a closed pipe): nothing more to print.
            if !self.serving {
                return Some(Next::End);
            }
            self.printer = None;
        } else if self.once && !self.serving {
            return Some(Next::Stop);
        }
        None
    }
}

/// The printer of `--stdout`, `--stdout-json` or `--stdout-csv`.
fn printer(cli: &Cli) -> Option<Printer> {
    let (format, list) = match (&cli.stdout, &cli.stdout_json, &cli.stdout_csv) {
        (Some(l), _, _) => (Format::Text, l),
        (_, Some(l), _) => (Format::Json, l),
        (_, _, Some(l)) => (Format::Csv, l),
        _ => return None,
    };
    Some(Printer::new(
        format,
        &split_list(std::slice::from_ref(list)),
    ))
}

/// Exporting, a stop (SIGTERM from a service manager, Ctrl-C) lets the exporters finish
/// their call and spill what they hold; a second signal ends glint at once.
fn stop_signals(monitor: &Monitor) -> anyhow::Result<Arc<AtomicBool>> {
    let stopping = Arc::new(AtomicBool::new(false));
    // An exporter still compiling (Python's, JavaScript's) is one too.
    if !monitor.exporters().is_empty() || monitor.compiling() {
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register_conditional_shutdown(signal, 1, stopping.clone())
                .and_then(|_| signal_hook::flag::register(signal, stopping.clone()))
                .context("cannot handle SIGTERM/SIGINT")?;
        }
    }
    Ok(stopping)
}

/// Runs the chosen modes off one tick until the UI quits, `--once` has printed, stdout's
/// reader goes away or a signal stops glint.
pub fn run(
    cli: &Cli,
    mut monitor: Monitor,
    refused: &[Refused],
    modes: Modes,
) -> anyhow::Result<ExitCode> {
    for r in refused {
        eprintln!("glint: plugin refused: {}", r.error);
    }
    if monitor.actors().is_empty() && !monitor.compiling() {
        bail!("no plugin is running (all disabled or refused); see `glint plugins`");
    }
    monitor
        .watch()
        .context("cannot start watching the plugins directory")?;
    // Server mode: the API runs on tokio threads, the tick stays on this one; both share the
    // store and the notification hub.
    let hub = Hub::new();
    let serving = modes.server.is_some();
    let _runtime = match modes.server {
        Some((options, credentials)) => {
            Some(serve::start_server(&monitor, &hub, options, credentials)?)
        }
        None => None,
    };
    let ui = if modes.ui {
        Some(start_ui(glint::tui::Options::default())?)
    } else {
        None
    };
    let mut consumers = Consumers {
        hub,
        tracker: Tracker::default(),
        lifecycle: None,
        printer: printer(cli),
        ui,
        serving,
        once: cli.once,
    };
    let stopping = stop_signals(&monitor)?;
    // A call in progress may take up to its deadline.
    let grace = EXPORT_DEADLINE + Duration::from_secs(1);
    let refresh = monitor.config().refresh;
    let mut compiling = monitor.compiling();
    let mut next = Instant::now();
    loop {
        if stopping.load(Ordering::Relaxed) {
            monitor.stop_exporters(grace);
            return Ok(ExitCode::SUCCESS);
        }
        let snapshot = monitor.tick();
        if snapshot.seq == 1 {
            // Start-up is measured to here (bench/startup.sh reads this line).
            tracing::info!(
                "first complete tick {} µs after start ({} plugins)",
                STARTED.get().map_or(0, |s| s.elapsed().as_micros()),
                snapshot.plugins.len()
            );
        }
        // Handed round before the start-up trim: an exporter times its interval from the
        // moment it is offered a snapshot, so nothing slow may come between tick and offer.
        let next_step = consumers.hand(&monitor, &snapshot)?;
        if snapshot.seq == 2 && (serving || !cli.once) {
            trim_startup();
        }
        if compiling && !monitor.compiling() {
            compiling = false;
            // What compiling took can go too; and with every compile done, glint may be
            // left with no plugin at all.
            trim_startup();
            if monitor.actors().is_empty() {
                monitor.stop_exporters(grace);
                bail!("no plugin is running (all disabled or refused); see `glint plugins`");
            }
        }
        match next_step {
            Next::Tick => {}
            Next::End => return Ok(ExitCode::SUCCESS),
            Next::Stop => {
                monitor.stop_exporters(grace);
                return Ok(ExitCode::SUCCESS);
            }
        }
        next += refresh;
        let now = Instant::now();
        if next <= now {
            // A tick overran the refresh: start the next one now, without catching up.
            next = now;
        }
        match &consumers.ui {
            Some(ui) => {
                if let Some(result) = ui.wait(next - now) {
                    monitor.stop_exporters(grace);
                    return result.map(|()| ExitCode::SUCCESS);
                }
            }
            None => std::thread::sleep(next - now),
        }
    }
}

/// At the second tick start-up is over (plugins loaded, first rates computed) and its pages
/// can go. Not when glint ends after this tick: the next start would read them back from disk.
fn trim_startup() {
    let trimmed = trim::startup_pages();
    tracing::debug!("start-up pages given back: {trimmed:?}");
}
