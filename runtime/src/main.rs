//! The `glint` command line: parses the arguments and dispatches to the command or the modes
//! asked for. With `app/`, the binary's edge: the one place that uses `anyhow`.
mod app;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use glint::bindings::{Layout, PluginKind};
use glint::monitor::{Monitor, Refused};
use glint::plugins::engine::GlintEngine;

use app::args::{Cli, Command, KindArg, LangArg, PluginCommand};

fn main() -> ExitCode {
    app::STARTED.get_or_init(Instant::now);
    app::trim::one_malloc_arena();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(one_line_fields())
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
            ExitCode::from(2)
        }
    }
}

/// The log's fields as tracing's default shows them (the message, then `name=value`), each on
/// one line with its control characters escaped: text a plugin chose, quoted in glint's own
/// messages (its error, its stderr), cannot start a line that looks like one of glint's.
fn one_line_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = glint::plugins::host::one_line(&format!("{value:?}"), usize::MAX);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{field}={text}")
        }
    })
    .delimited(" ")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.print_config {
        print!("{}", glint::settings::config::DEFAULT_TOML);
        return Ok(ExitCode::SUCCESS);
    }
    if cli.hash_password {
        let password = app::serve::read_password(true)?;
        println!("{}", glint::settings::auth::hash_password(&password)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &cli.command {
        Some(Command::Plugin {
            action:
                PluginCommand::New {
                    name,
                    kind,
                    lang,
                    dir,
                },
        }) => return new_plugin(name, *kind, *lang, dir.clone()),
        Some(Command::Plugin {
            action: PluginCommand::Wit { dir },
        }) => {
            let files = glint::tools::wit::write(dir)?;
            println!(
                "wrote {} files of the WIT contract into {}",
                files.len(),
                dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let mut config = app::config::load(&cli)?;
    config.reserved_names = glint::server::reserved_names();
    if let Some(target) = &cli.client {
        return app::ui::run_client(&cli, &config, target);
    }
    let modes = app::Modes::of(&cli, &config)?;
    let engine = GlintEngine::new(app::cache_dir(&cli))?;
    if let Some(Command::Plugin {
        action: PluginCommand::Check { file, manifest },
    }) = &cli.command
    {
        let report = glint::tools::check::check(&engine, &config, file, manifest.as_deref());
        print!("{}", report.text);
        return Ok(exit_code(report.loads));
    }
    let (monitor, refused) = app::start_monitor(&cli, config, engine)?;
    if let Some(Command::Plugins) = cli.command {
        print_plugins(&monitor, &refused);
        return Ok(exit_code(refused.is_empty()));
    }
    app::run(&cli, monitor, &refused, modes)
}

/// Success, or 1 (the command's answer is no).
fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `glint plugin new NAME`: a plugin project that builds and loads as it is.
fn new_plugin(
    name: &str,
    kind: KindArg,
    lang: LangArg,
    dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use glint::tools::scaffold::Language;
    let kind = match kind {
        KindArg::Input => PluginKind::Input,
        KindArg::Output => PluginKind::Output,
        KindArg::Exporter => PluginKind::Exporter,
    };
    let language = match lang {
        LangArg::Rust => Language::Rust,
        LangArg::Python => Language::Python,
        LangArg::Javascript => Language::Javascript,
    };
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    glint::tools::scaffold::create(name, kind, language, &dir)?;
    println!(
        "created {}: build it with `{}` there (see its README.md)",
        dir.display(),
        language.build_command(name, kind)
    );
    Ok(ExitCode::SUCCESS)
}

/// `glint plugins`: the loaded plugins with their handshake, then the refused ones.
fn print_plugins(monitor: &Monitor, refused: &[Refused]) {
    println!(
        "{:<14} {:<6} {:>3} {:<7} {:>6} {:<9} DESCRIPTION",
        "NAME", "KIND", "API", "LAYOUT", "FIELDS", "SOURCE"
    );
    let outputs = monitor.outputs().iter().map(|a| &**a);
    for actor in monitor.actors().iter().chain(outputs) {
        let m = &actor.meta;
        let layout = match m.layout {
            Layout::Record => "record",
            Layout::List => "list",
            Layout::Scalar => "scalar",
        };
        println!(
            "{:<14} {:<6} {:>3} {:<7} {:>6} {:<9} {}",
            m.name,
            glint::bindings::kind_name(actor.kind),
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
