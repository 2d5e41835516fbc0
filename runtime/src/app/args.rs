//! The command line's arguments and subcommands, as clap parses them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A system monitor whose plugins are sandboxed WebAssembly components.
#[derive(Parser, Debug)]
#[command(name = "glint", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Config file (default: ~/.config/glint/glint.toml if it exists).
    #[arg(short = 'C', long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    /// Print the default config, with every key documented, and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Seconds between refreshes (overrides the config's `global.refresh`).
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<f64>,

    /// Print these stats each refresh: `plugin` or `plugin.field`, comma-separated.
    #[arg(long, value_name = "LIST", group = "out")]
    pub stdout: Option<String>,

    /// Print these plugins (or fields) as one JSON object per refresh.
    #[arg(long = "stdout-json", value_name = "LIST", group = "out")]
    pub stdout_json: Option<String>,

    /// Print these plugins (or fields) as CSV: a header line, then one row per refresh.
    #[arg(long = "stdout-csv", value_name = "LIST", group = "out")]
    pub stdout_csv: Option<String>,

    /// Print once and exit (waits one refresh: rates need two ticks).
    #[arg(long)]
    pub once: bool,

    /// Serve the REST API (APIv3) and notifications.
    #[arg(short = 's', long = "server")]
    pub server: bool,

    /// Serve the REST API and the web UI.
    #[arg(short = 'w', long = "webserver")]
    pub webserver: bool,

    /// Client mode: the terminal UI over a remote glint server's API (`HOST[:PORT]`, port
    /// 61208 by default).
    #[arg(short = 'c', long = "client", value_name = "HOST[:PORT]")]
    pub client: Option<String>,

    /// Open the terminal UI alongside -s, -w or --stdout (it is the default mode on its own).
    #[arg(long)]
    pub tui: bool,

    /// Address to listen on in server mode (default: the config's, 127.0.0.1).
    #[arg(short = 'B', long = "bind", value_name = "ADDRESS")]
    pub bind: Option<String>,

    /// Port to listen on in server mode (default: the config's, 61208).
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,

    /// Ask for a password (or read one line from stdin) and require it, with HTTP basic
    /// auth, on every route but /api/3/status; with -c, the password to give the server.
    #[arg(long)]
    pub password: bool,

    /// User name for --password (default: the config's, `glint`).
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// Ask for a password (or read one line from stdin), print its salted hash for the
    /// config's `[server] password`, and exit.
    #[arg(long)]
    pub hash_password: bool,

    /// Ship the stats with these exporters (comma-separated, repeatable): each runs on its
    /// own interval, configured in its `[plugins.NAME]` section.
    #[arg(long = "export", value_name = "LIST")]
    pub export: Vec<String>,

    /// The CSV exporter's file (Glances' flag; sets `[plugins.csv] file`).
    #[arg(long = "export-csv-file", value_name = "FILE")]
    pub export_csv_file: Option<PathBuf>,

    /// Start the CSV file anew instead of appending to it.
    #[arg(long = "export-csv-overwrite")]
    pub export_csv_overwrite: bool,

    /// The JSON exporter's file (Glances' flag; sets `[plugins.json] file`).
    #[arg(long = "export-json-file", value_name = "FILE")]
    pub export_json_file: Option<PathBuf>,

    /// No terminal UI: export (or serve) only.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Plugins not to run (comma-separated; `all` for every one).
    #[arg(long = "disable-plugin", value_name = "LIST", global = true)]
    pub disable_plugin: Vec<String>,

    /// Plugins to run even if the config disables them (comma-separated).
    #[arg(long = "enable-plugin", value_name = "LIST", global = true)]
    pub enable_plugin: Vec<String>,

    /// Load one more input plugin from a component file (repeatable).
    #[arg(long = "plugin", value_name = "FILE.wasm", global = true)]
    pub plugins: Vec<PathBuf>,

    /// The community plugins' directory: NAME.wasm with its manifest NAME.toml, rescanned
    /// every 5 s (default: the config's, else ~/.config/glint/plugins).
    #[arg(long, value_name = "DIR", global = true)]
    pub plugins_dir: Option<PathBuf>,

    /// Where compiled plugins are cached (default: ~/.cache/glint/components).
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// Do not cache compiled plugins on disk.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the loaded plugins with their handshake, and those refused with the reason.
    Plugins,
    /// Tools for plugin authors.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Check a component against this glint: its handshake, imports, what it asks for and
    /// is granted, and whether glint would load it or why not (exit 1 if not).
    Check {
        file: PathBuf,
        /// Its manifest (default: FILE with .toml beside it, if there is one).
        #[arg(long, value_name = "M")]
        manifest: Option<PathBuf>,
    },
    /// Make a plugin project that builds to a component with one command and loads as it
    /// is, with its manifest, the helper library and the WIT vendored (its README says how).
    New {
        name: String,
        #[arg(long, value_enum, default_value = "input")]
        kind: KindArg,
        #[arg(long, value_enum, default_value = "rust")]
        lang: LangArg,
        /// Where (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Write the WIT contract this glint serves into DIR, with the WASI packages its worlds
    /// use (`deps/`), for any toolchain to bind to. Files of the same names are replaced.
    Wit { dir: PathBuf },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LangArg {
    Rust,
    Python,
    #[value(alias = "js")]
    Javascript,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    Input,
    Output,
    Exporter,
}

/// The items of comma-separated, repeatable list flags (`--export a,b --export c`).
pub fn split_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
