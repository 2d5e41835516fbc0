//! Output plugins over HTTP: `/api/3/outputs/<name>[/<path>]` (and `/metrics` for
//! `prometheus`) hand the request to the plugin's actor and answer with what it renders.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::Params;
use super::error::{ApiError, listing};
use super::shared::Shared;
use crate::bindings::input::glint::plugin::types::{Request, Response as PluginResponse};
use crate::plugins::actor::Actor;
use crate::plugins::error::PluginError;
use crate::plugins::host::StatsView;
use crate::settings::limits::OUTPUT_QUEUE;

/// The output plugin `/metrics` serves.
const METRICS_PLUGIN: &str = "prometheus";

/// The longest a request waits: its own call plus every call queued ahead of it, each
/// bounded by the plugin's deadline, and a second for the host's part.
fn wait(actor: &Actor) -> Duration {
    actor.sandbox.limits.deadline * (OUTPUT_QUEUE as u32 + 1) + Duration::from_secs(1)
}

async fn render(
    shared: &Shared,
    name: &str,
    path: String,
    raw: Option<&str>,
) -> Result<Response, ApiError> {
    let loaded = shared.registry.load();
    let Some(actor) = loaded.outputs.iter().find(|a| a.meta.name == name).cloned() else {
        let names: Vec<&str> = loaded
            .outputs
            .iter()
            .map(|a| a.meta.name.as_str())
            .collect();
        return Err(ApiError::not_found(format!(
            "no output plugin `{name}`; the output plugins are: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                listing(&names)
            }
        )));
    };
    let query = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let stats = StatsView {
        snapshot: shared.store.snapshot(),
        store: shared.store.clone(),
    };
    let failed = |e: PluginError| match e {
        PluginError::Busy { .. }
        | PluginError::Restarting { .. }
        | PluginError::Quarantined { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        other => ApiError::new(StatusCode::BAD_GATEWAY, format!("output plugin {other}")),
    };
    let answer = actor
        .render(Request { path, query }, stats)
        .map_err(failed)?;
    let response = match tokio::time::timeout(wait(&actor), answer).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("output plugin `{name}` did not answer in time"),
            ));
        }
        Ok(Err(_)) => {
            return Err(failed(PluginError::Stopped {
                name: name.to_string(),
            }));
        }
        Ok(Ok(result)) => result.map_err(failed)?,
    };
    let (status, content_type) = check(name, &response, shared.output_max_body)?;
    Ok((
        status,
        [(header::CONTENT_TYPE, content_type)],
        response.body,
    )
        .into_response())
}

/// What an output plugin's answer may be over HTTP, else a 502 naming the plugin: a final
/// status, 200 to 599 (a 1xx is not an answer: 101 would tell the client the connection
/// switched protocols, others that the answer is still to come); no body with 204 or 304,
/// which have none; a body within the server's limit (`[server] output_max_body_kb`); a
/// content type that is a valid header.
fn check(
    name: &str,
    response: &PluginResponse,
    max_body: usize,
) -> Result<(StatusCode, HeaderValue), ApiError> {
    let bad = |what: String| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("output plugin `{name}` {what}"),
        )
    };
    let status = StatusCode::from_u16(response.status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()))
        .ok_or_else(|| {
            bad(format!(
                "answered the status {}, which is not a final HTTP status (200 to 599)",
                response.status
            ))
        })?;
    let bodiless = [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED];
    if bodiless.contains(&status) && !response.body.is_empty() {
        return Err(bad(format!(
            "answered {status} with a body of {} bytes; that status has no body",
            response.body.len()
        )));
    }
    if response.body.len() > max_body {
        return Err(bad(format!(
            "answered {} bytes, over the server's limit of {} KiB for an output plugin's body \
             ([server] output_max_body_kb)",
            response.body.len(),
            max_body >> 10
        )));
    }
    let content_type = HeaderValue::from_str(&response.content_type).map_err(|_| {
        bad(format!(
            "answered an invalid content type {:?}",
            response.content_type
        ))
    })?;
    Ok((status, content_type))
}

pub(super) async fn output(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    render(&shared, &name, String::new(), raw.as_deref()).await
}

pub(super) async fn output_path(
    State(shared): State<Arc<Shared>>,
    Params((name, rest)): Params<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    render(&shared, &name, rest, raw.as_deref()).await
}

pub(super) async fn metrics(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    render(&shared, METRICS_PLUGIN, String::new(), raw.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &[u8]) -> PluginResponse {
        PluginResponse {
            status,
            content_type: "text/plain".into(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn only_final_statuses_pass() {
        for status in [200, 201, 204, 304, 404, 500, 599] {
            let body: &[u8] = if status == 204 || status == 304 {
                b""
            } else {
                b"x"
            };
            let checked = check("p", &answer(status, body), 1024);
            assert_eq!(checked.map(|(s, _)| s.as_u16()).ok(), Some(status));
        }
        for status in [0, 99, 100, 101, 103, 199, 600, 999, 1000] {
            let error = check("p", &answer(status, b""), 1024).expect_err("refused");
            assert_eq!(error.status, StatusCode::BAD_GATEWAY);
            assert!(error.message.contains("`p`"), "{}", error.message);
            assert!(
                error.message.contains(&status.to_string()),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn no_body_with_204_or_304_and_none_over_the_limit() {
        for status in [204, 304] {
            let error = check("p", &answer(status, b"x"), 1024).expect_err("refused");
            assert!(error.message.contains("has no body"), "{}", error.message);
        }
        assert!(check("p", &answer(200, &[b'x'; 1024]), 1024).is_ok());
        let error = check("p", &answer(200, &[b'x'; 1025]), 1024).expect_err("refused");
        assert_eq!(error.status, StatusCode::BAD_GATEWAY);
        assert!(
            error.message.contains("output_max_body_kb"),
            "{}",
            error.message
        );
    }
}
