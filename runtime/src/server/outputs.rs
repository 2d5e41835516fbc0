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
use crate::bindings::input::glint::plugin::types::Request;
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
    let status = StatusCode::from_u16(response.status).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "output plugin `{name}` answered the invalid status {}",
                response.status
            ),
        )
    })?;
    let content_type = HeaderValue::from_str(&response.content_type).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "output plugin `{name}` answered an invalid content type {:?}",
                response.content_type
            ),
        )
    })?;
    Ok((
        status,
        [(header::CONTENT_TYPE, content_type)],
        response.body,
    )
        .into_response())
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
