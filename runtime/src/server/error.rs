//! API errors as seed 003 shapes them: JSON `{"status": N, "message": "..."}` with that HTTP
//! status, a message naming the bad part, never an HTML page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn not_found_route() -> ApiError {
        ApiError::not_found("no such route; the API is under /api/3 (routes: /api/3/openapi.json)")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: the API is read-only, use GET",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"status": self.status.as_u16(), "message": self.message});
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"glint\", charset=\"UTF-8\""),
            );
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(
                header::ALLOW,
                axum::http::HeaderValue::from_static("GET, HEAD"),
            );
        }
        response
    }
}

/// A list of names for a message, shortened past `MAX_LISTED` (processlist has thousands of
/// keys; a message should stay readable).
pub fn listing<S: AsRef<str>>(names: &[S]) -> String {
    /// Enough to see what kind of names exist without flooding the message.
    const MAX_LISTED: usize = 20;
    let mut text: Vec<&str> = names.iter().take(MAX_LISTED).map(AsRef::as_ref).collect();
    let more = names.len().saturating_sub(MAX_LISTED);
    let more_text = format!("... and {more} more");
    if more > 0 {
        text.push(&more_text);
    }
    text.join(", ")
}
