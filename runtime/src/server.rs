//! Server mode: the APIv3 routes over HTTP (axum), answered from the published snapshot so a
//! request never waits for the tick; notifications, basic auth, gzip, CORS and the output
//! plugins mounted under `/api/3/outputs` (and `/metrics`).

mod api;
mod error;
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
pub use openapi::{ROUTES, Route, document as openapi_document};
pub use shared::Shared;

/// Server settings from the command line and config.
pub struct Options {
    pub addr: SocketAddr,
    pub cors_origins: Vec<String>,
    pub webui: bool,
}

/// The whole application: every documented route, errors as JSON, then auth, gzip, CORS.
pub fn router(mut shared: Shared, options: &Options) -> Router {
    shared.webui = options.webui;
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
    match cors(&options.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    }
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

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> Result<(), std::io::Error> {
    axum::serve(listener, app).await
}
