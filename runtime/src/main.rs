//! The `glint` command line: parses arguments, loads the config and plugins, and runs the
//! chosen mode. The one place that uses `anyhow`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use glint::config::Config;
use glint::engine::GlintEngine;
use glint::monitor::{Monitor, PluginFile};
use glint::stdout::{Format, Printer};
use host_collectors::Source;

/// A system monitor whose plugins are sandboxed WebAssembly components.
#[derive(Parser, Debug)]
#[command(name = "glint", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Config file (default: ~/.config/glint/glint.toml if it exists).
    #[arg(short = 'C', long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,

    /// Print the default config, with every key documented, and exit.
    #[arg(long)]
    print_config: bool,

    /// Seconds between refreshes (overrides the config's `global.refresh`).
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    time: Option<f64>,

    /// Print these stats each refresh: `plugin` or `plugin.field`, comma-separated.
    #[arg(long, value_name = "LIST", group = "out")]
    stdout: Option<String>,

    /// Print these plugins (or fields) as one JSON object per refresh.
    #[arg(long = "stdout-json", value_name = "LIST", group = "out")]
    stdout_json: Option<String>,

    /// Print these plugins (or fields) as CSV: a header line, then one row per refresh.
    #[arg(long = "stdout-csv", value_name = "LIST", group = "out")]
    stdout_csv: Option<String>,

    /// Print once and exit (waits one refresh: rates need two ticks).
    #[arg(long)]
    once: bool,

    /// Serve the REST API (APIv3) and notifications.
    #[arg(short = 's', long = "server")]
    server: bool,

    /// Serve the REST API and the web UI.
    #[arg(short = 'w', long = "webserver")]
    webserver: bool,

    /// Client mode: the terminal UI over a remote glint server's API (`HOST[:PORT]`, port
    /// 61208 by default).
    #[arg(short = 'c', long = "client", value_name = "HOST[:PORT]")]
    client: Option<String>,

    /// Open the terminal UI alongside -s, -w or --stdout (it is the default mode on its own).
    #[arg(long)]
    tui: bool,

    /// Address to listen on in server mode (default: the config's, 127.0.0.1).
    #[arg(short = 'B', long = "bind", value_name = "ADDRESS")]
    bind: Option<String>,

    /// Port to listen on in server mode (default: the config's, 61208).
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    port: Option<u16>,

    /// Ask for a password (or read one line from stdin) and require it, with HTTP basic
    /// auth, on every route but /api/3/status; with -c, the password to give the server.
    #[arg(long)]
    password: bool,

    /// User name for --password (default: the config's, `glint`).
    #[arg(long, value_name = "NAME")]
    username: Option<String>,

    /// Ask for a password (or read one line from stdin), print its salted hash for the
    /// config's `[server] password`, and exit.
    #[arg(long)]
    hash_password: bool,

    /// Ship the stats with these exporters (comma-separated, repeatable): each runs on its
    /// own interval, configured in its `[plugins.NAME]` section.
    #[arg(long = "export", value_name = "LIST")]
    export: Vec<String>,

    /// The CSV exporter's file (Glances' flag; sets `[plugins.csv] file`).
    #[arg(long = "export-csv-file", value_name = "FILE")]
    export_csv_file: Option<PathBuf>,

    /// Start the CSV file anew instead of appending to it.
    #[arg(long = "export-csv-overwrite")]
    export_csv_overwrite: bool,

    /// The JSON exporter's file (Glances' flag; sets `[plugins.json] file`).
    #[arg(long = "export-json-file", value_name = "FILE")]
    export_json_file: Option<PathBuf>,

    /// No terminal UI: export (or serve) only.
    #[arg(short = 'q', long)]
    quiet: bool,

    /// Plugins not to run (comma-separated; `all` for every one).
    #[arg(long = "disable-plugin", value_name = "LIST", global = true)]
    disable_plugin: Vec<String>,

    /// Plugins to run even if the config disables them (comma-separated).
    #[arg(long = "enable-plugin", value_name = "LIST", global = true)]
    enable_plugin: Vec<String>,

    /// Load one more input plugin from a component file (repeatable).
    #[arg(long = "plugin", value_name = "FILE.wasm", global = true)]
    plugins: Vec<PathBuf>,

    /// The community plugins' directory: NAME.wasm with its manifest NAME.toml, rescanned
    /// every 5 s (default: the config's, else ~/.config/glint/plugins).
    #[arg(long, value_name = "DIR", global = true)]
    plugins_dir: Option<PathBuf>,

    /// Where compiled plugins are cached (default: ~/.cache/glint/components).
    #[arg(long, value_name = "DIR", global = true)]
    cache_dir: Option<PathBuf>,

    /// Do not cache compiled plugins on disk.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the loaded plugins with their handshake, and those refused with the reason.
    Plugins,
    /// Tools for plugin authors.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Check a component against this glint: its handshake, imports, what it asks for and
    /// is granted, and whether glint would load it or why not (exit 1 if not).
    Check {
        file: PathBuf,
        /// Its manifest (default: FILE with .toml beside it, if there is one).
        #[arg(long, value_name = "M")]
        manifest: Option<PathBuf>,
    },
    /// Make a plugin crate that builds to a component (`cargo build --release --target
    /// wasm32-wasip2`) and loads as it is, with its manifest and the SDK vendored.
    New {
        name: String,
        #[arg(long, value_enum, default_value = "input")]
        kind: KindArg,
        /// Where (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum KindArg {
    Input,
    Output,
    Exporter,
}

/// When this process started: start-up is measured to the first complete tick.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn main() -> std::process::ExitCode {
    STARTED.get_or_init(Instant::now);
    glint::trim::one_malloc_arena();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GLINT_LOG")
                // wasi:http logs every refused connection of an exporter; glint's own
                // warning says it once per outage.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,wasmtime_wasi_http=error")
                }),
        )
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glint: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn split_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match cli.config.as_ref().cloned().or_else(Config::default_path) {
        Some(path) => Config::load(&path)?,
        None => Config::defaults()?,
    };
    if let Some(t) = cli.time {
        use glint::config::{MAX_REFRESH_SECS, MIN_REFRESH_SECS};
        if !(MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&t) {
            bail!(
                "-t {t}: the refresh must be between {MIN_REFRESH_SECS} and {MAX_REFRESH_SECS} seconds"
            );
        }
        config.refresh = Duration::from_secs_f64(t);
    }
    let disabled = split_list(&cli.disable_plugin);
    let all_names: Vec<String> = glint::embedded::DEFAULT_PLUGINS
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let known = |name: &str| -> anyhow::Result<()> {
        if name == "all" || all_names.iter().any(|n| n == name) {
            Ok(())
        } else {
            bail!(
                "unknown plugin {name:?}; the default plugins are: {}",
                all_names.join(", ")
            )
        }
    };
    for name in &disabled {
        known(name)?;
        let targets = if name == "all" {
            all_names.clone()
        } else {
            vec![name.clone()]
        };
        for t in targets {
            config.plugins.entry(t).or_default().enable = Some(false);
        }
    }
    for name in split_list(&cli.enable_plugin) {
        known(&name)?;
        config.plugins.entry(name).or_default().enable = Some(true);
    }
    let exporters: Vec<&str> = glint::embedded::DEFAULT_PLUGINS
        .iter()
        .filter(|p| p.exporter)
        .map(|p| p.name)
        .collect();
    let plugins_dir = cli.plugins_dir.clone().or_else(|| config.plugins_dir());
    let named = split_list(&cli.export);
    for name in named.iter().cloned() {
        let in_dir = plugins_dir
            .as_ref()
            .is_some_and(|d| d.join(format!("{name}.wasm")).is_file());
        if !exporters.contains(&name.as_str()) && !in_dir {
            bail!(
                "--export {name}: no exporter named {name:?}; the embedded ones are {}; a community exporter goes in {} as {name}.wasm with its manifest {name}.toml",
                exporters.join(", "),
                plugins_dir
                    .as_ref()
                    .map_or("the plugins directory (--plugins-dir)".to_string(), |d| d
                        .display()
                        .to_string())
            );
        }
        config.plugins.entry(name).or_default().enable = Some(true);
    }
    let set_file =
        |config: &mut Config, plugin: &str, flag: &str, file: &PathBuf| -> anyhow::Result<()> {
            let path = std::path::absolute(file)
                .with_context(|| format!("{flag} {}: not a usable path", file.display()))?;
            config
                .plugins
                .entry(plugin.to_string())
                .or_default()
                .settings
                .insert(
                    "file".into(),
                    glint::bindings::ConfigValue::Text(path.display().to_string()),
                );
            Ok(())
        };
    if let Some(file) = &cli.export_csv_file {
        set_file(&mut config, "csv", "--export-csv-file", file)?;
    }
    if cli.export_csv_overwrite {
        config
            .plugins
            .entry("csv".into())
            .or_default()
            .settings
            .insert(
                "overwrite".into(),
                glint::bindings::ConfigValue::Boolean(true),
            );
    }
    if let Some(file) = &cli.export_json_file {
        set_file(&mut config, "json", "--export-json-file", file)?;
    }
    // An exporter's host settings are checked now: a bad line stops glint with its reason,
    // rather than an exporter that silently never runs.
    for name in exporters
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        if config.exports(name) {
            glint::export::ExportSettings::from_section(
                name,
                config.plugins.get(name),
                config.refresh,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    if cli.print_config {
        print!("{}", glint::config::DEFAULT_TOML);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if cli.hash_password {
        let password = read_password(true)?;
        println!("{}", glint::auth::hash_password(&password)?);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if let Some(Command::Plugin {
        action: PluginCommand::New { name, kind, dir },
    }) = &cli.command
    {
        let kind = match kind {
            KindArg::Input => glint::bindings::PluginKind::Input,
            KindArg::Output => glint::bindings::PluginKind::Output,
            KindArg::Exporter => glint::bindings::PluginKind::Exporter,
        };
        let dir = dir.clone().unwrap_or_else(|| PathBuf::from(name));
        glint::scaffold::create(name, kind, &dir)?;
        println!(
            "created {}: build it with `cargo build --release --target wasm32-wasip2` there (see its README.md)",
            dir.display()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let config = load_config(&cli)?;
    if let Some(target) = &cli.client {
        return run_client(&cli, &config, target);
    }
    let serving = cli.server || cli.webserver;
    let printing = cli.stdout.is_some() || cli.stdout_json.is_some() || cli.stdout_csv.is_some();
    // The terminal UI: the default mode, or beside the others with --tui. Told from the flags,
    // so a missing terminal is said before any plugin is compiled.
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
        Some(server_settings(&cli, &config)?)
    } else {
        None
    };
    let cache_dir = if cli.no_cache {
        None
    } else {
        cli.cache_dir
            .clone()
            .or_else(GlintEngine::default_cache_dir)
    };
    let engine = GlintEngine::new(cache_dir)?;
    if let Some(Command::Plugin {
        action: PluginCommand::Check { file, manifest },
    }) = &cli.command
    {
        let report = glint::check::check(&engine, &config, file, manifest.as_deref());
        print!("{}", report.text);
        return Ok(if report.loads {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(1)
        });
    }
    let mut extra = Vec::new();
    for path in &cli.plugins {
        extra
            .push(PluginFile::read(path, None).map_err(|e| {
                anyhow::anyhow!("--plugin {}: {e}; check the path", path.display())
            })?);
    }
    let plugins_dir = cli.plugins_dir.clone().or_else(|| config.plugins_dir());
    let mut config = config;
    if let Some(Command::Plugins) = cli.command {
        // Listing: no exporter starts (it would send, or replay a service's spilled batches).
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
    let (mut monitor, refused) = Monitor::new(config, engine, Source::live(), extra, plugins_dir);
    tracing::info!(
        "{} plugins loaded in {:?}",
        monitor.actors().len(),
        started.elapsed()
    );

    if let Some(Command::Plugins) = cli.command {
        print_plugins(&monitor, &refused);
        return Ok(if refused.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(1)
        });
    }
    for r in &refused {
        eprintln!("glint: plugin refused: {}", r.error);
    }
    if monitor.actors().is_empty() {
        bail!("no plugin is running (all disabled or refused); see `glint plugins`");
    }
    monitor
        .watch()
        .context("cannot start watching the plugins directory")?;

    let mut printer = match (&cli.stdout, &cli.stdout_json, &cli.stdout_csv) {
        (Some(l), _, _) => Some(Printer::new(
            Format::Text,
            &split_list(std::slice::from_ref(l)),
        )),
        (_, Some(l), _) => Some(Printer::new(
            Format::Json,
            &split_list(std::slice::from_ref(l)),
        )),
        (_, _, Some(l)) => Some(Printer::new(
            Format::Csv,
            &split_list(std::slice::from_ref(l)),
        )),
        _ => None,
    };

    // Server mode: the API runs on tokio threads, the tick stays on this one; both share the
    // store and the notification hub.
    let hub = glint::events::Hub::new();
    let _runtime = match server {
        Some((options, credentials)) => Some(start_server(&monitor, &hub, options, credentials)?),
        None => None,
    };
    let mut tracker = glint::events::Tracker::default();
    let mut last_lifecycle = None;
    let ui = if ui {
        Some(start_ui(glint::tui::Options::default())?)
    } else {
        None
    };

    // Exporting, a stop (SIGTERM from a service manager, Ctrl-C) lets the exporters finish
    // their call and spill what they hold; a second signal ends glint at once.
    let stopping = Arc::new(AtomicBool::new(false));
    if !monitor.exporters().is_empty() {
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register_conditional_shutdown(signal, 1, stopping.clone())
                .and_then(|_| signal_hook::flag::register(signal, stopping.clone()))
                .context("cannot handle SIGTERM/SIGINT")?;
        }
    }
    // A call in progress may take up to its deadline.
    let grace = glint::sandbox::EXPORT_DEADLINE + Duration::from_secs(1);

    let refresh = monitor.config().refresh;
    // Not locked for the whole loop: the terminal UI's thread writes to it too.
    let mut stdout = std::io::stdout();
    let mut next = Instant::now();
    loop {
        if stopping.load(Ordering::Relaxed) {
            monitor.stop_exporters(grace);
            return Ok(std::process::ExitCode::SUCCESS);
        }
        let snapshot = monitor.tick();
        if snapshot.seq == 1 {
            tracing::info!(
                "first complete tick {} µs after start ({} plugins)",
                STARTED.get().map_or(0, |s| s.elapsed().as_micros()),
                snapshot.plugins.len()
            );
        }
        if snapshot.seq == 2 && (serving || !cli.once) {
            // Start-up is over (plugins loaded, first rates computed): its code can go. (Not
            // when glint ends after this tick: the next start would read it back from disk.)
            let trimmed = glint::trim::startup_pages();
            tracing::debug!("start-up pages given back: {trimmed:?}");
        }
        // Plugin events only when some plugin's state moved: making every status each tick
        // would cost more than the rest of the loop.
        let board = monitor.store().board();
        let lifecycle = board.lifecycle();
        let statuses = (Some(lifecycle) != last_lifecycle).then(|| board.statuses());
        last_lifecycle = Some(lifecycle);
        for event in tracker.observe(&snapshot, statuses.as_deref()) {
            hub.send(event);
        }
        // The first tick only primes the counters: rates need two.
        let mut closed = false;
        if snapshot.seq >= 2
            && let Some(printer) = printer.as_mut()
        {
            let text = printer.print(&snapshot)?;
            if stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                // The reader went away (a closed pipe): nothing more to print.
                if !serving {
                    return Ok(std::process::ExitCode::SUCCESS);
                }
                closed = true;
            }
            if cli.once && !serving {
                monitor.stop_exporters(grace);
                return Ok(std::process::ExitCode::SUCCESS);
            }
        }
        if closed {
            printer = None;
        }
        if let Some(ui) = &ui
            && let Some(stats) = glint::tui::feed::local_stats(&snapshot, &monitor.store())
        {
            // The UI has quit when it stops listening; `wait` below tells why.
            let _ = ui.tx.send(glint::tui::Input::Stats(Box::new(stats)));
        }
        next += refresh;
        let now = Instant::now();
        if next <= now {
            // A tick overran the refresh: start the next one now, without catching up.
            next = now;
        }
        match &ui {
            Some(ui) => {
                if let Some(result) = ui.wait(next - now) {
                    monitor.stop_exporters(grace);
                    return result.map(|()| std::process::ExitCode::SUCCESS);
                }
            }
            None => std::thread::sleep(next - now),
        }
    }
}

/// The terminal UI, drawn on a thread of its own while the ticks go on.
struct Ui {
    tx: std::sync::mpsc::Sender<glint::tui::Input>,
    /// Closed when the UI ends (the user quit, or the terminal failed).
    done: std::sync::mpsc::Receiver<std::io::Result<()>>,
}

impl Ui {
    /// Waits up to `timeout`; `Some` once the UI has ended, with how.
    fn wait(&self, timeout: Duration) -> Option<anyhow::Result<()>> {
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

fn start_ui(options: glint::tui::Options) -> anyhow::Result<Ui> {
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
fn run_client(cli: &Cli, config: &Config, target: &str) -> anyhow::Result<std::process::ExitCode> {
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
    let remote =
        glint::tui::feed::Remote::parse(target, credentials).map_err(anyhow::Error::msg)?;
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

/// Where to listen and who may ask, from the flags over the config.
fn server_settings(
    cli: &Cli,
    config: &Config,
) -> anyhow::Result<(glint::server::Options, Option<glint::auth::Credentials>)> {
    let bind = cli
        .bind
        .clone()
        .unwrap_or_else(|| config.server.bind.clone());
    let port = cli.port.unwrap_or(config.server.port);
    let ip: std::net::IpAddr = bind.parse().with_context(|| {
        format!("-B {bind}: not an IP address; give one of this machine's addresses, e.g. 127.0.0.1 or 0.0.0.0")
    })?;
    let username = cli
        .username
        .clone()
        .unwrap_or_else(|| config.server.username.clone());
    if username.is_empty() || username.contains(':') {
        bail!("--username {username:?}: a user name must be non-empty and contain no ':'");
    }
    let hash = if cli.password {
        Some(glint::auth::hash_password(&read_password(false)?)?)
    } else {
        config.server.password_hash.clone()
    };
    let credentials = hash
        .map(|h| glint::auth::Credentials::new(&username, &h))
        .transpose()?;
    if credentials.is_none() && !ip.is_loopback() {
        eprintln!(
            "glint: warning: serving {ip}:{port} without a password: anyone who reaches it can read this machine's stats; set one with --password or [server] password"
        );
    }
    Ok((
        glint::server::Options {
            addr: std::net::SocketAddr::new(ip, port),
            cors_origins: config.server.cors_origins.clone(),
            webui: cli.webserver,
        },
        credentials,
    ))
}

/// Binds and starts the API server on a tokio runtime of its own; the runtime lives as long
/// as the returned value.
fn start_server(
    monitor: &Monitor,
    hub: &glint::events::Hub,
    options: glint::server::Options,
    credentials: Option<glint::auth::Credentials>,
) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("glint-server")
        .build()
        .context("cannot start the server's runtime")?;
    let shared = glint::server::Shared::new(
        monitor.store(),
        hub.clone(),
        monitor.registry(),
        monitor.config().history_size,
        credentials,
    );
    let app = glint::server::router(shared, &options);
    let listener = runtime.block_on(glint::server::bind(options.addr))?;
    let addr = listener.local_addr().unwrap_or(options.addr);
    eprintln!("glint: serving the API on http://{addr}/api/3");
    runtime.spawn(async move {
        if let Err(e) = glint::server::serve(listener, app).await {
            tracing::error!("the API server stopped: {e}");
        }
    });
    Ok(runtime)
}

/// A password from the terminal (asked twice when `confirm`), or one line of stdin when
/// stdin is not a terminal (scripts, tests).
fn read_password(confirm: bool) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        if confirm {
            let again = rpassword::prompt_password("Password (again): ")
                .context("cannot read the password")?;
            if again != first {
                bail!("the two passwords differ; try again");
            }
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        bail!("the password is empty; give a non-empty one");
    }
    Ok(password)
}

fn print_plugins(monitor: &Monitor, refused: &[glint::monitor::Refused]) {
    println!(
        "{:<14} {:<6} {:>3} {:<7} {:>6} {:<9} DESCRIPTION",
        "NAME", "KIND", "API", "LAYOUT", "FIELDS", "SOURCE"
    );
    let outputs = monitor.outputs().iter().map(|a| &**a);
    for actor in monitor.actors().iter().chain(outputs) {
        let m = &actor.meta;
        let layout = match m.layout {
            glint::bindings::Layout::Record => "record",
            glint::bindings::Layout::List => "list",
            glint::bindings::Layout::Scalar => "scalar",
        };
        println!(
            "{:<14} {:<6} {:>3} {:<7} {:>6} {:<9} {}",
            m.name,
            glint::events::kind_name(actor.kind),
            m.api_version,
            layout,
            m.fields.len(),
            m.source.to_string(),
            m.description
        );
    }
    for r in refused {
        println!("refused: {}", r.error);
    }
}
