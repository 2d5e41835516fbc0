//! Server mode: the APIv3 routes over HTTP (axum), answered from the published snapshot so a
//! request never waits for the tick; notifications, basic auth, gzip, CORS and the output
//! plugins mounted under `/api/3/outputs` (and `/metrics`); every error as JSON, the HTTP
//! layer's own too (`guard`).

mod api;
mod backlog;
mod error;
mod guard;
mod notify;
mod openapi;
mod outputs;
mod shared;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use error::ApiError;
pub use openapi::{ROUTES, Route, document as openapi_document, reserved_names};
pub use shared::Shared;

/// Server settings from the command line and config.
pub struct Options {
    pub addr: SocketAddr,
    pub cors_origins: Vec<String>,
    pub webui: bool,
    /// Bytes of events held for a notification subscriber that does not read
    /// (`[server] subscriber_buffer_kb`).
    pub subscriber_buffer: usize,
    /// Largest body an output plugin may answer, in bytes (`[server] output_max_body_kb`).
    pub output_max_body: usize,
}

/// The whole application: every documented route, errors as JSON, then auth, gzip, CORS.
pub fn router(mut shared: Shared, options: &Options) -> Router {
    shared.webui = options.webui;
    shared.subscriber_buffer = options.subscriber_buffer;
    shared.output_max_body = options.output_max_body;
    let shared = Arc::new(shared);
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, (route.handler)());
    }
    let router = router
        .fallback(|| async { ApiError::not_found_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(shared.clone())
        .layer(middleware::from_fn_with_state(shared, authenticate))
        .layer(CompressionLayer::new().gzip(true))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("the server hit a bug answering this request; it is logged")
                .into_response()
        }));
    let router = match cors(&options.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outermost: it sees every request, to answer a refused head's stand-in (see `guard`).
    router.layer(middleware::from_fn(guard::answer_refusals))
}

/// CORS from the configured origins: `*` for any, else the listed ones.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new().allow_methods([
        axum::http::Method::GET,
        axum::http::Method::HEAD,
        axum::http::Method::POST,
    ]);
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(AllowOrigin::any()));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        layer
            .allow_origin(AllowOrigin::list(list))
            .allow_headers([header::AUTHORIZATION]),
    )
}

/// HTTP basic auth on everything but `/api/3/status` (clients probe it to find the server).
async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if shared.credentials.is_none() {
        return next.run(request).await;
    }
    if request.uri().path() == "/api/3/status" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(given) = given else {
        return ApiError::unauthorized(
            "this glint needs a user name and password (HTTP basic auth)",
        )
        .into_response();
    };
    // Argon2 takes tens of milliseconds: off the async workers.
    let shared_check = shared.clone();
    let ok = tokio::task::spawn_blocking(move || {
        shared_check
            .credentials
            .as_ref()
            .is_some_and(|c| c.check(&given))
    })
    .await
    .unwrap_or(false);
    if ok {
        next.run(request).await
    } else {
        ApiError::unauthorized("wrong user name or password").into_response()
    }
}

/// Binds the listener, with an error that says what to do when the address is taken.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, std::io::Error> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "something else listens there (another glint or Glances?); choose another port with -p"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "this machine has no such address; choose one of its addresses with -B"
            }
            std::io::ErrorKind::PermissionDenied => "ports below 1024 need privileges; use -p 61208",
            _ => "check -B and -p",
        };
        std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}; {hint}"))
    })
}

/// Serves until the process ends. Each connection is read through `guard`, which checks
/// request heads before hyper does: the HTTP layer's own errors are JSON too.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> Result<(), std::io::Error> {
    axum::serve(
        guard::GuardedListener(listener),
        app.into_make_service_with_connect_info::<guard::Link>(),
    )
    .await
}
