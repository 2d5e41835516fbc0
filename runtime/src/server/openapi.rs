//! The route table: every route the server answers, with what the OpenAPI 3 document at
//! `/api/3/openapi.json` says of it. The router and the document are built from this one
//! table, so neither can list a route the other lacks.

use std::sync::Arc;

use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value as Json, json};

use super::shared::Shared;
use super::{api, notify, outputs};

/// One route.
pub struct Route {
    /// axum's path syntax (`{plugin}`), which is also OpenAPI's.
    pub path: &'static str,
    pub summary: &'static str,
    /// What answers: `json` (the envelope or a plain JSON value), `sse`, `ws`, `any` (an
    /// output plugin's own content type).
    pub answers: &'static str,
    /// `get`, or `post` for the one route that changes something.
    pub method: &'static str,
    pub handler: fn() -> MethodRouter<Arc<Shared>>,
}

const PARAMS: &[(&str, &str)] = &[
    (
        "plugin",
        "An input plugin's name, as /api/3/pluginslist lists them.",
    ),
    (
        "field",
        "A field (column) of the plugin, dotted for nested ones (`memory_info.rss`); before a `value`, the key field (`interface_name`, `mnt_point`, `pid`) selects rows, another field is read in the row whose key is `value`.",
    ),
    (
        "value",
        "A key value; percent-encode `/` (`%2F` for the mount point `/`).",
    ),
    ("n", "How many of the latest points (0 for all)."),
    (
        "name",
        "A plugin's name (an output plugin's under /api/3/outputs).",
    ),
    ("path", "The rest of the path, passed to the output plugin."),
];

/// Every route, in the order the document lists them.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        summary: "Where things are: the API, this document, the events (the web UI of `-w` comes later).",
        answers: "json",
        method: "get",
        handler: || get(api::root),
    },
    Route {
        path: "/api/3/status",
        summary: "Server status and version (never needs auth).",
        answers: "json",
        method: "get",
        handler: || get(api::status),
    },
    Route {
        path: "/api/3/pluginslist",
        summary: "Names of the input plugins that run.",
        answers: "json",
        method: "get",
        handler: || get(api::pluginslist),
    },
    Route {
        path: "/api/3/plugins",
        summary: "Every loaded WASM plugin's health: kind, status, calls, errors, restarts, last call time (µs), memory (bytes).",
        answers: "json",
        method: "get",
        handler: || get(api::plugins),
    },
    Route {
        path: "/api/3/plugins/{name}",
        summary: "One WASM plugin's health: kind, version, source, granted and denied capabilities, status, calls, errors, last error (with the guest's stderr), p50/p99 call time, memory, restarts, limits.",
        answers: "json",
        method: "get",
        handler: || get(api::plugin_status),
    },
    Route {
        path: "/api/3/plugins/{name}/enable",
        summary: "Re-enables a quarantined plugin (POST): it runs again from the next tick, with a clean record.",
        answers: "json",
        method: "post",
        handler: || post(api::enable_plugin),
    },
    Route {
        path: "/api/3/all",
        summary: "Every plugin's stats: stats = [{plugin: stats}], views = [{plugin: views}].",
        answers: "json",
        method: "get",
        handler: || get(api::all),
    },
    Route {
        path: "/api/3/all/limits",
        summary: "Every plugin's limits.",
        answers: "json",
        method: "get",
        handler: || get(api::all_limits),
    },
    Route {
        path: "/api/3/all/views",
        summary: "Every plugin's views (decorations).",
        answers: "json",
        method: "get",
        handler: || get(api::all_views),
    },
    Route {
        path: "/api/3/openapi.json",
        summary: "This document.",
        answers: "json",
        method: "get",
        handler: || get(openapi),
    },
    Route {
        path: "/api/3/events",
        summary: "Notifications as Server-Sent Events: tick, alert_begin, alert_end, plugin, lagged. `?plugins=cpu,mem` filters and adds those plugins' stats to tick events.",
        answers: "sse",
        method: "get",
        handler: || get(notify::events),
    },
    Route {
        path: "/api/3/ws",
        summary: "The same notifications over a WebSocket, one JSON text message each.",
        answers: "ws",
        method: "get",
        handler: || get(notify::websocket),
    },
    Route {
        path: "/api/3/outputs/{name}",
        summary: "What an output plugin renders.",
        answers: "any",
        method: "get",
        handler: || get(outputs::output),
    },
    Route {
        path: "/api/3/outputs/{name}/{*path}",
        summary: "What an output plugin renders for a sub-path.",
        answers: "any",
        method: "get",
        handler: || get(outputs::output_path),
    },
    Route {
        path: "/metrics",
        summary: "Prometheus text exposition of all stats (the `prometheus` output plugin).",
        answers: "any",
        method: "get",
        handler: || get(outputs::metrics),
    },
    Route {
        path: "/api/3/{plugin}",
        summary: "A plugin's stats and views.",
        answers: "json",
        method: "get",
        handler: || get(api::plugin),
    },
    Route {
        path: "/api/3/{plugin}/limits",
        summary: "A plugin's limits, Glances' flat dict.",
        answers: "json",
        method: "get",
        handler: || get(api::limits),
    },
    Route {
        path: "/api/3/{plugin}/views",
        summary: "A plugin's views (decorations), in `views`.",
        answers: "json",
        method: "get",
        handler: || get(api::views),
    },
    Route {
        path: "/api/3/{plugin}/fields",
        summary: "A plugin's fields: unit, description, rate, history.",
        answers: "json",
        method: "get",
        handler: || get(api::fields),
    },
    Route {
        path: "/api/3/{plugin}/history",
        summary: "A plugin's history: {item: [[ISO timestamp, value], ...]}, source `history`.",
        answers: "json",
        method: "get",
        handler: || get(api::plugin_history),
    },
    Route {
        path: "/api/3/{plugin}/history/{n}",
        summary: "The last n points of a plugin's history.",
        answers: "json",
        method: "get",
        handler: || get(api::plugin_history_n),
    },
    Route {
        path: "/api/3/{plugin}/{field}",
        summary: "One field of every row.",
        answers: "json",
        method: "get",
        handler: || get(api::field),
    },
    Route {
        path: "/api/3/{plugin}/{field}/history",
        summary: "One field's history.",
        answers: "json",
        method: "get",
        handler: || get(api::field_history),
    },
    Route {
        path: "/api/3/{plugin}/{field}/history/{n}",
        summary: "The last n points of one field's history.",
        answers: "json",
        method: "get",
        handler: || get(api::field_history_n),
    },
    Route {
        path: "/api/3/{plugin}/{field}/{value}",
        summary: "Rows whose key field equals value (`processlist/pid/1`), or one field of the row with that key (`network/bytes_recv/eth0`).",
        answers: "json",
        method: "get",
        handler: || get(api::item),
    },
];

async fn openapi() -> axum::response::Response {
    api::json_response(axum::body::Bytes::from(
        serde_json::to_vec(&document()).unwrap_or_default(),
    ))
}

/// The names the API uses for its own routes under /api/3 (`all`, `plugins`, `events`...):
/// a plugin named so would be hidden behind the route, so the loader refuses those names.
pub fn reserved_names() -> Vec<String> {
    let mut names: Vec<String> = ROUTES
        .iter()
        .filter_map(|r| r.path.strip_prefix("/api/3/"))
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .filter(|first| !first.starts_with('{'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The OpenAPI 3.0 document of every route.
pub fn document() -> Json {
    let mut paths = Map::new();
    for route in ROUTES {
        // OpenAPI writes a catch-all as a plain parameter.
        let path = route.path.replace("{*", "{");
        paths.insert(path, json!({route.method: operation(route)}));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "glint APIv3",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "glint's REST API: Glances' APIv3 envelope over stats rendered by sandboxed WebAssembly plugins. Errors are JSON {status, message}. With a password set, every route but /api/3/status needs HTTP basic auth.",
        },
        "paths": paths,
        "components": components(),
        "security": [{"basic": []}, {}],
    })
}

/// What the document says of one route: its summary, parameters and responses.
fn operation(route: &Route) -> Json {
    let error = json!({"$ref": "#/components/responses/Error"});
    let parameters = parameters(route);
    let ok = ok_response(route);
    let mut responses = Map::new();
    responses.insert(if route.answers == "ws" { "101" } else { "200" }.into(), ok);
    for code in ["400", "401", "404"] {
        responses.insert(code.into(), error.clone());
    }
    json!({"summary": route.summary, "parameters": parameters, "responses": responses})
}

/// A route's parameters: those of its path, then the query parameters it takes.
fn parameters(route: &Route) -> Vec<Json> {
    let mut parameters: Vec<Json> = PARAMS
        .iter()
        .filter(|(name, _)| {
            route.path.contains(&format!("{{{name}}}")) || route.path.contains(&format!("{{*{name}}}"))
        })
        .map(|(name, description)| {
            json!({"name": name, "in": "path", "required": true, "description": description,
                   "schema": if *name == "n" { json!({"type": "integer", "minimum": 0}) } else { json!({"type": "string"}) }})
        })
        .collect();
    if route.answers == "json" && route.path.contains("{plugin}") || route.path == "/api/3/all" {
        parameters.push(json!({"name": "views", "in": "query", "required": false,
            "description": "false leaves `views` out.", "schema": {"type": "boolean", "default": true}}));
    }
    if route.answers == "sse" || route.answers == "ws" {
        parameters.push(json!({"name": "plugins", "in": "query", "required": false,
            "description": "Comma-separated plugin names: only their tick events, with their stats.",
            "schema": {"type": "string"}}));
    }
    parameters
}

/// What a route answers when all goes well.
fn ok_response(route: &Route) -> Json {
    match route.answers {
        "sse" => {
            json!({"description": "A stream of events.", "content": {"text/event-stream": {"schema": {"type": "string"}}}})
        }
        "ws" => {
            json!({"description": "Switching to the WebSocket protocol (send an upgrade request)."})
        }
        "any" => {
            json!({"description": "The output plugin's answer, with its content type.", "content": {"*/*": {"schema": {"type": "string"}}}})
        }
        _ if route.path.starts_with("/api/3/{plugin}") || route.path.starts_with("/api/3/all") => {
            json!({"description": "The APIv3 envelope.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}})
        }
        _ => json!({"description": "JSON.", "content": {"application/json": {"schema": {}}}}),
    }
}

/// The document's shared parts: the auth scheme, the envelope and error schemas, and the
/// error response.
fn components() -> Json {
    json!({
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        "schemas": {
            "Envelope": {
                "type": "object",
                "required": ["metadata", "stats"],
                "properties": {
                    "metadata": {"type": "object", "required": ["api_version", "source", "plugin_name", "plugin_key"], "properties": {
                        "api_version": {"type": "integer", "enum": [3]},
                        "source": {"type": "string", "enum": ["lib", "history"]},
                        "plugin_name": {"type": "string"},
                        "plugin_key": {"type": "string", "nullable": true},
                    }},
                    "stats": {"type": "array", "items": {}},
                    "views": {"type": "array", "items": {}},
                },
            },
            "Error": {"type": "object", "required": ["status", "message"], "properties": {
                "status": {"type": "integer"}, "message": {"type": "string"}}},
        },
        "responses": {"Error": {"description": "An error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_the_api_routes_are_reserved_and_plugin_names_are_not() {
        let names = reserved_names();
        for taken in [
            "all",
            "plugins",
            "pluginslist",
            "status",
            "events",
            "ws",
            "outputs",
        ] {
            assert!(names.iter().any(|n| n == taken), "{taken} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.starts_with('{')), "{names:?}");
        assert!(
            !names.iter().any(|n| n == "cpu" || n == "metrics"),
            "{names:?}"
        );
    }
}
