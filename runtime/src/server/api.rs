//! The APIv3 stats routes: the seed's envelope `{metadata, stats, views}` around plugins,
//! fields, items, limits, views, field metadata and history, all from the published snapshot.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};

use super::error::{ApiError, listing};
use super::shared::Shared;
use crate::bindings::Layout;
use crate::stats::render;
use crate::stats::snapshot::{PluginMeta, PluginStats, Snapshot};

/// The API version of the envelope (seed 000).
const API_VERSION: u32 = 3;

type Answer = Result<Response, ApiError>;

/// A JSON body.
pub(super) fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn to_bytes(value: &Json) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// The seed's envelope around any stats and views, serialized straight to bytes.
#[derive(serde::Serialize)]
struct Envelope<'a, S, V> {
    metadata: Metadata<'a>,
    stats: S,
    /// Left out on `?views=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    views: Option<V>,
}

#[derive(serde::Serialize)]
struct Metadata<'a> {
    api_version: u32,
    source: &'a str,
    plugin_name: &'a str,
    plugin_key: Option<&'a str>,
}

/// An envelope's JSON body. `views: None` leaves them out.
fn body<S: serde::Serialize, V: serde::Serialize>(
    plugin_name: &str,
    plugin_key: Option<&str>,
    source: &str,
    stats: S,
    views: Option<V>,
) -> Bytes {
    sized_body(plugin_name, plugin_key, source, stats, views, 0)
}

/// [`body`] written into a buffer of `capacity` bytes: `/api/3/all` is half a megabyte, and
/// growing to it by doubling copies it all about twice over.
fn sized_body<S: serde::Serialize, V: serde::Serialize>(
    plugin_name: &str,
    plugin_key: Option<&str>,
    source: &str,
    stats: S,
    views: Option<V>,
    capacity: usize,
) -> Bytes {
    let envelope = Envelope {
        metadata: Metadata {
            api_version: API_VERSION,
            source,
            plugin_name,
            plugin_key,
        },
        stats,
        views,
    };
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, &envelope) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

/// The query options every stats route takes.
pub(super) struct Query {
    pub views: bool,
    pub plugins: Vec<String>,
}

pub(super) fn parse_query(raw: Option<&str>) -> Result<Query, ApiError> {
    let mut query = Query {
        views: true,
        plugins: Vec::new(),
    };
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "views" => {
                query.views = match value.as_ref() {
                    "true" | "1" | "yes" | "" => true,
                    "false" | "0" | "no" => false,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "views={other}: expected true or false"
                        )));
                    }
                }
            }
            "plugins" => query.plugins.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            // Other parameters (cache busters, a client's own) are ignored.
            _ => {}
        }
    }
    Ok(query)
}

/// Path parameters, with a JSON 400 (not axum's text) for bad percent-encoding.
pub(super) struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Params(p))
            .map_err(|e| ApiError::bad_request(format!("bad path: {e}")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query())
    }
}

impl Shared {
    /// A running input plugin by name, or a 404 listing them.
    fn meta(&self, name: &str) -> Result<Arc<PluginMeta>, ApiError> {
        let loaded = self.registry.load();
        loaded
            .inputs
            .iter()
            .find(|m| m.name == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = loaded.inputs.iter().map(|m| m.name.as_str()).collect();
                ApiError::not_found(format!(
                    "unknown plugin `{name}`; the plugins are: {}",
                    listing(&names)
                ))
            })
    }

    /// A plugin's latest stats (`None` until its first tick), checking it exists.
    fn stats_of(
        &self,
        snapshot: &Arc<Snapshot>,
        name: &str,
    ) -> Result<(Arc<PluginMeta>, Option<Arc<PluginStats>>), ApiError> {
        let meta = self.meta(name)?.clone();
        Ok((meta, snapshot.get(name).cloned()))
    }
}

/// The plugin's stats as the envelope's list: rows of a list plugin, the one record, or the
/// bare value.
fn stats_list(stats: Option<&PluginStats>) -> Vec<Json> {
    match serde_json::to_value(render::StatsList(stats)) {
        Ok(Json::Array(list)) => list,
        _ => Vec::new(),
    }
}

fn views_list(shared: &Shared, stats: Option<&PluginStats>) -> Vec<Json> {
    stats.map_or_else(Vec::new, |s| {
        render::views(s, shared.store.limits.get(&s.meta.name))
    })
}

fn key_of(stats: Option<&PluginStats>, meta: &PluginMeta) -> Option<String> {
    match meta.layout {
        Layout::List => stats.and_then(|s| s.table.key.clone()),
        _ => None,
    }
}

pub(super) async fn root(State(shared): State<Arc<Shared>>) -> Response {
    let message = if shared.webui {
        "glint's web UI comes in a later version; the REST API is under /api/3"
    } else {
        "glint serves its REST API under /api/3"
    };
    json_response(to_bytes(&json!({
        "message": message,
        "api": "/api/3",
        "openapi": "/api/3/openapi.json",
        "events": "/api/3/events",
    })))
}

pub(super) async fn status() -> Response {
    json_response(to_bytes(&json!({
        "version": env!("CARGO_PKG_VERSION"),
        "api_version": API_VERSION,
    })))
}

pub(super) async fn pluginslist(State(shared): State<Arc<Shared>>) -> Response {
    let loaded = shared.registry.load();
    let names: Vec<&str> = loaded.inputs.iter().map(|m| m.name.as_str()).collect();
    json_response(to_bytes(&json!(names)))
}

pub(super) async fn plugins(State(shared): State<Arc<Shared>>) -> Response {
    let plugins = shared.store.plugins();
    json_response(Bytes::from(
        serde_json::to_vec(&*plugins).unwrap_or_default(),
    ))
}

/// A WASM plugin's status by name, or a 404 listing the plugins.
fn status_of(shared: &Shared, name: &str) -> Result<crate::stats::status::PluginStatus, ApiError> {
    let plugins = shared.store.plugins();
    plugins
        .iter()
        .find(|p| p.name == name)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
            ApiError::not_found(format!(
                "no plugin `{name}`; the plugins are: {}",
                listing(&names)
            ))
        })
}

pub(super) async fn plugin_status(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
) -> Answer {
    let status = status_of(&shared, &name)?;
    Ok(json_response(Bytes::from(
        serde_json::to_vec(&status).unwrap_or_default(),
    )))
}

pub(super) async fn enable_plugin(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
) -> Answer {
    let status = status_of(&shared, &name)?;
    let loaded = shared.registry.load();
    let Some((_, counters)) = loaded.counters.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            format!(
                "plugin `{name}` is not loaded ({}): replace its file to load it again",
                status.last_error.as_deref().unwrap_or(&status.status)
            ),
        ));
    };
    let was = {
        let mut health = counters.health();
        let was = health.report().status;
        health.reenable();
        was
    };
    tracing::info!("plugin {name} re-enabled through the API (it was {was})");
    Ok(json_response(to_bytes(&json!({
        "status": 200,
        "message": format!("plugin `{name}` re-enabled (it was {was}); it runs from the next tick"),
    }))))
}

pub(super) async fn all(State(shared): State<Arc<Shared>>, query: Query) -> Answer {
    let snapshot = shared.store.snapshot();
    let cache = shared.cache(&snapshot);
    // The size of the last /all (with and without views), a little over: the next is about
    // the same.
    static LAST_SIZE: [std::sync::atomic::AtomicUsize; 2] =
        [const { std::sync::atomic::AtomicUsize::new(0) }; 2];
    let which = usize::from(!query.views);
    let body = cache.all[which].get_or_init(|| {
        let views = query.views.then(|| {
            [render::AllViews {
                snapshot: &snapshot,
                limits: &shared.store.limits,
            }]
        });
        let last = LAST_SIZE[which].load(std::sync::atomic::Ordering::Relaxed);
        let body = sized_body(
            "all",
            None,
            "lib",
            [render::AllJson(&snapshot)],
            views,
            last + last / 16,
        );
        LAST_SIZE[which].store(body.len(), std::sync::atomic::Ordering::Relaxed);
        body
    });
    Ok(json_response(body.clone()))
}

pub(super) async fn all_limits(State(shared): State<Arc<Shared>>, query: Query) -> Answer {
    let mut all = Map::new();
    for meta in &shared.registry.load().inputs {
        all.insert(
            meta.name.clone(),
            render::limits(
                &meta.name,
                shared.store.limits.get(&meta.name),
                shared.history_size,
            ),
        );
    }
    let views = query.views.then(Vec::<Json>::new);
    Ok(json_response(body(
        "all",
        None,
        "lib",
        vec![Json::Object(all)],
        views,
    )))
}

pub(super) async fn all_views(State(shared): State<Arc<Shared>>, _query: Query) -> Answer {
    let snapshot = shared.store.snapshot();
    let views = render::AllViews {
        snapshot: &snapshot,
        limits: &shared.store.limits,
    };
    Ok(json_response(body(
        "all",
        None,
        "lib",
        [(); 0],
        Some([views]),
    )))
}

pub(super) async fn plugin(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    query: Query,
) -> Answer {
    let snapshot = shared.store.snapshot();
    let (meta, stats) = shared.stats_of(&snapshot, &name)?;
    let render = || {
        let views = query.views.then(|| render::ViewsList {
            stats: stats.as_deref(),
            limits: shared.store.limits.get(&name),
        });
        let key = key_of(stats.as_deref(), &meta);
        body(
            &name,
            key.as_deref(),
            "lib",
            render::StatsList(stats.as_deref()),
            views,
        )
    };
    let body = match snapshot.plugins.iter().position(|p| p.meta.name == name) {
        Some(i) => {
            let cache = shared.cache(&snapshot);
            match cache.plugins.get(i) {
                Some(slots) => slots[usize::from(!query.views)].get_or_init(render).clone(),
                None => render(),
            }
        }
        None => render(),
    };
    Ok(json_response(body))
}

pub(super) async fn limits(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    query: Query,
) -> Answer {
    let meta = shared.meta(&name)?;
    let limits = render::limits(
        &meta.name,
        shared.store.limits.get(&name),
        shared.history_size,
    );
    let views = query.views.then(Vec::<Json>::new);
    Ok(json_response(body(&name, None, "lib", vec![limits], views)))
}

pub(super) async fn views(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    _query: Query,
) -> Answer {
    let snapshot = shared.store.snapshot();
    let (meta, stats) = shared.stats_of(&snapshot, &name)?;
    let key = key_of(stats.as_deref(), &meta);
    let views = render::ViewsList {
        stats: stats.as_deref(),
        limits: shared.store.limits.get(&name),
    };
    Ok(json_response(body(
        &name,
        key.as_deref(),
        "lib",
        [(); 0],
        Some(views),
    )))
}

pub(super) async fn fields(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    query: Query,
) -> Answer {
    let meta = shared.meta(&name)?;
    let views = query.views.then(Vec::<Json>::new);
    Ok(json_response(body(
        &name,
        None,
        "lib",
        render::fields(&meta),
        views,
    )))
}

/// `n` of `/history/<n>`: a whole number of points, 0 for all.
fn count(text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>().map_err(|_| {
        ApiError::bad_request(format!(
            "`{text}` is not a number of points: expected a whole number (0 for all)"
        ))
    })
}

/// `{item: [[iso timestamp, value], ...]}` for a plugin's history columns (or the one named
/// `only`), items named Glances' way: `<column>`, or `<key>_<column>` for list plugins.
fn history(
    shared: &Shared,
    meta: &PluginMeta,
    stats: Option<&PluginStats>,
    only: Option<&str>,
    count: usize,
) -> Result<Json, ApiError> {
    let columns: Vec<&String> = match only {
        None => meta.history_columns.iter().collect(),
        Some(field) => {
            let rate = format!("{field}_rate_per_sec");
            let found: Vec<&String> = meta
                .history_columns
                .iter()
                .filter(|c| **c == field || **c == rate)
                .collect();
            if found.is_empty() {
                return Err(ApiError::not_found(format!(
                    "plugin `{}` keeps no history of `{field}`; fields with history: {}",
                    meta.name,
                    if meta.history_columns.is_empty() {
                        "none".to_string()
                    } else {
                        listing(&meta.history_columns)
                    }
                )));
            }
            found
        }
    };
    let keys: Vec<Option<String>> = match (meta.layout, stats) {
        (Layout::List, Some(s)) => (0..s.table.rows.len()).map(|r| s.row_key(r)).collect(),
        (Layout::List, None) => Vec::new(),
        _ => vec![None],
    };
    let mut out = Map::new();
    shared.store.with_history(|h| {
        for column in &columns {
            for key in &keys {
                let points: Vec<Json> = h
                    .points(&meta.name, column, key.as_deref(), count)
                    .into_iter()
                    .map(|p| json!([render::iso_timestamp(p.unix_millis), p.value]))
                    .collect();
                let item = match key {
                    Some(k) => format!("{k}_{column}"),
                    None => column.to_string(),
                };
                out.insert(item, Json::Array(points));
            }
        }
    });
    Ok(Json::Object(out))
}

fn history_answer(
    shared: &Shared,
    name: &str,
    only: Option<&str>,
    n: Option<&str>,
    query: Query,
) -> Answer {
    let count = n.map(count).transpose()?.unwrap_or(0);
    let snapshot = shared.store.snapshot();
    let (meta, stats) = shared.stats_of(&snapshot, name)?;
    let items = history(shared, &meta, stats.as_deref(), only, count)?;
    let key = key_of(stats.as_deref(), &meta);
    let views = query.views.then(Vec::<Json>::new);
    Ok(json_response(body(
        name,
        key.as_deref(),
        "history",
        vec![items],
        views,
    )))
}

pub(super) async fn plugin_history(
    State(shared): State<Arc<Shared>>,
    Params(name): Params<String>,
    query: Query,
) -> Answer {
    history_answer(&shared, &name, None, None, query)
}

pub(super) async fn plugin_history_n(
    State(shared): State<Arc<Shared>>,
    Params((name, n)): Params<(String, String)>,
    query: Query,
) -> Answer {
    history_answer(&shared, &name, None, Some(&n), query)
}

pub(super) async fn field_history(
    State(shared): State<Arc<Shared>>,
    Params((name, field)): Params<(String, String)>,
    query: Query,
) -> Answer {
    history_answer(&shared, &name, Some(&field), None, query)
}

pub(super) async fn field_history_n(
    State(shared): State<Arc<Shared>>,
    Params((name, field, n)): Params<(String, String, String)>,
    query: Query,
) -> Answer {
    history_answer(&shared, &name, Some(&field), Some(&n), query)
}

/// Whether a plugin has a field: a column, a dotted group of columns (`memory_info`), or a
/// declared field not in this tick's table.
fn has_field(meta: &PluginMeta, stats: Option<&PluginStats>, field: &str) -> bool {
    let prefix = format!("{field}.");
    stats.is_some_and(|s| {
        s.table
            .columns
            .iter()
            .any(|c| c == field || c.starts_with(&prefix))
    }) || meta.fields.iter().any(|f| f.name == field)
}

fn unknown_field(meta: &PluginMeta, stats: Option<&PluginStats>, field: &str) -> ApiError {
    let mut names: Vec<String> = stats
        .map(|s| {
            s.table
                .columns
                .iter()
                .map(|c| c.split('.').next().unwrap_or(c).to_string())
                .collect()
        })
        .unwrap_or_else(|| meta.fields.iter().map(|f| f.name.clone()).collect());
    names.dedup();
    ApiError::not_found(format!(
        "unknown field `{field}` of plugin `{}`; its fields are: {}",
        meta.name,
        listing(&names)
    ))
}

/// One field of one row, with the row's key for list plugins.
fn pick(object: &Json, field: &str) -> Option<Json> {
    let mut v = object;
    for part in field.split('.') {
        v = v.get(part)?;
    }
    Some(v.clone())
}

fn field_of_row(stats: &PluginStats, row: usize, views: &[Json], field: &str) -> (Json, Json) {
    let mut stat = Map::new();
    let mut view = Map::new();
    if let (Some(key), Some(value)) = (&stats.table.key, stats.row_key(row)) {
        stat.insert(key.clone(), Json::from(value));
    }
    let element = render::row(stats, row);
    stat.insert(
        field.to_string(),
        pick(&element, field).unwrap_or(Json::Null),
    );
    if let Some(v) = views.get(row).and_then(|v| pick(v, field)) {
        view.insert(field.to_string(), v);
    }
    (Json::Object(stat), Json::Object(view))
}

pub(super) async fn field(
    State(shared): State<Arc<Shared>>,
    Params((name, field)): Params<(String, String)>,
    query: Query,
) -> Answer {
    let snapshot = shared.store.snapshot();
    let (meta, stats) = shared.stats_of(&snapshot, &name)?;
    if !has_field(&meta, stats.as_deref(), &field) {
        return Err(unknown_field(&meta, stats.as_deref(), &field));
    }
    let mut stat_list = Vec::new();
    let mut view_list = Vec::new();
    if let Some(stats) = stats.as_deref() {
        let views = views_list(&shared, Some(stats));
        if meta.layout == Layout::Scalar {
            stat_list = stats_list(Some(stats));
            view_list = views;
        } else {
            for row in 0..stats.table.rows.len() {
                let (s, v) = field_of_row(stats, row, &views, &field);
                stat_list.push(s);
                view_list.push(v);
            }
        }
    }
    let key = key_of(stats.as_deref(), &meta);
    Ok(json_response(body(
        &name,
        key.as_deref(),
        "lib",
        stat_list,
        query.views.then_some(view_list),
    )))
}

/// `/<plugin>/<key_field>/<value>`: the rows whose key is `value` (numeric keys compare as
/// their decimal text, so `processlist/pid/1` works). Also `/<plugin>/<field>/<key value>`:
/// that field of the row with that key (Glances 4's `/network/bytes_recv/eth0`).
pub(super) async fn item(
    State(shared): State<Arc<Shared>>,
    Params((name, item, value)): Params<(String, String, String)>,
    query: Query,
) -> Answer {
    let snapshot = shared.store.snapshot();
    let (meta, stats) = shared.stats_of(&snapshot, &name)?;
    if meta.layout != Layout::List {
        return Err(ApiError::not_found(format!(
            "plugin `{name}` has one record, not items with keys; ask /api/3/{name}/<field>"
        )));
    }
    let Some(stats) = stats else {
        return Err(ApiError::not_found(format!(
            "plugin `{name}` has no items yet (its first tick has not run)"
        )));
    };
    let key_field = stats.table.key.clone().unwrap_or_default();
    let is_key = item == key_field;
    if !is_key && !has_field(&meta, Some(&stats), &item) {
        return Err(unknown_field(&meta, Some(&stats), &item));
    }
    let rows: Vec<usize> = (0..stats.table.rows.len())
        .filter(|&r| stats.row_key(r).as_deref() == Some(value.as_str()))
        .collect();
    if rows.is_empty() {
        let keys: Vec<String> = (0..stats.table.rows.len())
            .filter_map(|r| stats.row_key(r))
            .collect();
        return Err(ApiError::not_found(format!(
            "no item of plugin `{name}` has {key_field} = `{value}`; the {key_field}s are: {}",
            if keys.is_empty() {
                "none".to_string()
            } else {
                listing(&keys)
            }
        )));
    }
    let views = views_list(&shared, Some(&stats));
    let (stat_list, view_list): (Vec<Json>, Vec<Json>) = if is_key {
        rows.iter()
            .map(|&r| {
                (
                    render::row(&stats, r),
                    views.get(r).cloned().unwrap_or(Json::Null),
                )
            })
            .unzip()
    } else {
        rows.iter()
            .map(|&r| field_of_row(&stats, r, &views, &item))
            .unzip()
    };
    Ok(json_response(body(
        &name,
        Some(&key_field),
        "lib",
        stat_list,
        query.views.then_some(view_list),
    )))
}
