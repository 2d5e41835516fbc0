//! Notifications over HTTP: Server-Sent Events at `/api/3/events` and a WebSocket at
//! `/api/3/ws`, each subscriber with its own bounded place in the broadcast: one that falls
//! behind gets a `lagged` event and skips ahead; it never holds up the tick or the others.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::api::parse_query;
use super::error::{ApiError, listing};
use super::shared::Shared;
use crate::stats::events::Event;

/// The next notification for a subscriber, as (event name, JSON); `None` once glint stops.
async fn next(rx: &mut Receiver<Event>, plugins: &[String]) -> Option<(&'static str, Json)> {
    loop {
        match rx.recv().await {
            Ok(event) => {
                if let Some(json) = event.to_json(plugins) {
                    return Some((event.kind(), json));
                }
            }
            Err(RecvError::Lagged(missed)) => {
                return Some(("lagged", json!({"type": "lagged", "missed": missed})));
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

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
    Ok(query.plugins)
}

pub(super) async fn events(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let plugins = plugins_filter(&shared, raw.as_deref())?;
    let rx = shared.hub.subscribe();
    let stream = futures_util::stream::unfold((rx, plugins), |(mut rx, plugins)| async move {
        let (name, json) = next(&mut rx, &plugins).await?;
        let event = SseEvent::default().event(name).data(json.to_string());
        Some((Ok::<_, Infallible>(event), (rx, plugins)))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
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
    let rx = shared.hub.subscribe();
    Ok(upgrade.on_upgrade(move |socket| pump(socket, rx, plugins)))
}

/// Sends notifications until either side goes away; what the client sends is ignored (pings
/// are answered by the WebSocket layer).
async fn pump(mut socket: WebSocket, mut rx: Receiver<Event>, plugins: Vec<String>) {
    loop {
        tokio::select! {
            event = next(&mut rx, &plugins) => {
                let Some((_, json)) = event else { break };
                if socket.send(Message::Text(json.to_string().into())).await.is_err() {
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
