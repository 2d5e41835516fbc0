//! Server mode's set-up: where to listen and who may ask (flags over the config), the
//! password prompt, and the API server on a tokio runtime of its own.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use glint::monitor::Monitor;
use glint::settings::auth::Credentials;
use glint::settings::config::Config;
use glint::stats::events::Hub;

use crate::app::args::Cli;

/// Where to listen and who may ask, from the flags over the config.
pub fn server_settings(
    cli: &Cli,
    config: &Config,
) -> anyhow::Result<(glint::server::Options, Option<Credentials>)> {
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
        Some(glint::settings::auth::hash_password(&read_password(
            false,
        )?)?)
    } else {
        config.server.password_hash.clone()
    };
    let credentials = hash.map(|h| Credentials::new(&username, &h)).transpose()?;
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
            subscriber_buffer: config.server.subscriber_buffer,
            output_max_body: config.server.output_max_body,
        },
        credentials,
    ))
}

/// Binds and starts the API server on a tokio runtime of its own; the runtime lives as long
/// as the returned value.
pub fn start_server(
    monitor: &Monitor,
    hub: &Hub,
    options: glint::server::Options,
    credentials: Option<Credentials>,
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
pub fn read_password(confirm: bool) -> anyhow::Result<String> {
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
