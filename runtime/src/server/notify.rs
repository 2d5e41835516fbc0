//! Notifications over HTTP: Server-Sent Events at `/api/3/events` and a WebSocket at
//! `/api/3/ws`, each subscriber fed from its own backlog, capped in bytes (`backlog.rs`): one
//! that falls behind gets a `lagged` event and skips ahead; it never holds up the tick or the
//! others, nor holds more memory than its cap.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::parse_query;
use super::backlog::{self, Backlog, Form};
use super::error::{ApiError, listing};
use super::shared::Shared;

/// Quiet time after which an SSE stream sends a comment line, so proxies and browsers do not
/// close it as idle (they commonly give up after 30 to 60 s); axum's default, kept.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `?plugins=cpu,mem`, checked against the running plugins.
fn plugins_filter(shared: &Shared, raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let query = parse_query(raw)?;
    let loaded = shared.registry.load();
    for name in &query.plugins {
        if !loaded.inputs.iter().any(|m| &m.name == name) {
            let names: Vec<&str> = loaded.inputs.iter().map(|m| m.name.as_str()).collect();
            return Err(ApiError::not_found(format!(
                "plugins={name}: unknown plugin; the plugins are: {}",
                listing(&names)
            )));
        }
    }
    // One order for one set: subscribers of the same plugins share each event's rendering.
    let mut plugins = query.plugins;
    plugins.sort();
    plugins.dedup();
    Ok(plugins)
}

pub(super) async fn events(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let plugins = plugins_filter(&shared, raw.as_deref())?;
    let place = take_place(&shared)?;
    let backlog = backlog::subscribe(&shared.hub, plugins, Form::Sse, shared.subscriber_buffer);
    // The backlog's frames go to hyper as they are (shared, not copied); hyper asks for the
    // next only when it has room, and the frame counts as held until hyper drops it. The
    // place is given back when hyper drops the stream (the client went away).
    let stream =
        futures_util::stream::unfold((backlog, place), |(mut backlog, place)| async move {
            let frame = match tokio::time::timeout(KEEP_ALIVE, backlog.recv()).await {
                Ok(frame) => frame?,
                Err(_) => Bytes::from_static(b":\n\n"),
            };
            Some((Ok::<_, Infallible>(frame), (backlog, place)))
        });
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    Ok((headers, Body::from_stream(stream)).into_response())
}

pub(super) async fn websocket(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let plugins = plugins_filter(&shared, raw.as_deref())?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_request(format!(
            "{e}: /api/3/ws is a WebSocket; connect with a WebSocket client (or use /api/3/events for Server-Sent Events)"
        ))
    })?;
    let place = take_place(&shared)?;
    let backlog = backlog::subscribe(&shared.hub, plugins, Form::Json, shared.subscriber_buffer);
    Ok(upgrade.on_upgrade(move |socket| async move {
        pump(socket, backlog).await;
        drop(place);
    }))
}

/// A subscriber's place, or 503 when every one is taken.
fn take_place(shared: &Shared) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    shared.subscribers.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} event subscribers are connected, the most glint serves at once; close one, or share one stream between dashboards",
                backlog::MAX_SUBSCRIBERS
            ),
        )
    })
}

/// Sends notifications until either side goes away; what the client sends is ignored (pings
/// are answered by the WebSocket layer).
async fn pump(mut socket: WebSocket, mut backlog: Backlog) {
    loop {
        tokio::select! {
            frame = backlog.recv() => {
                let Some(frame) = frame else { break };
                // Always UTF-8 (JSON from serde_json); checked, not assumed.
                let Ok(text) = Utf8Bytes::try_from(frame) else { continue };
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}
