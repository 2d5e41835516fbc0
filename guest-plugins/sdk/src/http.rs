//! A blocking HTTP client for exporters over the standard `wasi:http/outgoing-handler`,
//! which the host limits to the plugin's granted destinations, and the rule that turns an
//! answer into an export's outcome (retry later, or drop for good).

use std::time::Duration;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method,
    OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};

use crate::ExportError;

/// wasi:io streams take at most 4096 bytes per blocking write.
const WRITE_CHUNK: usize = 4096;

/// The most of an answer's body kept: an error page explains a refusal in its first lines,
/// and a target that answers without end cannot grow the plugin past its memory cap.
const MAX_BODY: usize = 1 << 20;

/// How long a request may take by default: a tick's export should finish well within the
/// host's per-call deadline (which kills the call), so a slow target is a retry, not a trap.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

/// What the target answered.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// The URL is not `http(s)://host[:port][/path]`.
    BadUrl(String),
    /// The host refused it: the destination is not granted to this plugin, or (HTTPS) its
    /// certificate does not prove it is the destination.
    Denied(String),
    /// No connection, a reset, a timeout: the target may be back later.
    Transport(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::BadUrl(m) => write!(f, "bad URL: {m}"),
            HttpError::Denied(m) => write!(f, "refused by glint: {m}"),
            HttpError::Transport(m) => write!(f, "{m}"),
        }
    }
}

impl Request {
    pub fn new(method: &'static str, url: &str) -> Request {
        Request {
            method,
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    pub fn post(url: &str, content_type: &str, body: Vec<u8>) -> Request {
        Request::new("POST", url)
            .header("content-type", content_type)
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    /// HTTP basic authentication.
    pub fn basic_auth(self, user: &str, password: &str) -> Request {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    /// Sends it and waits for the whole answer.
    pub fn send(self) -> Result<Response, HttpError> {
        send(self)
    }

    /// HTTP basic authentication when there are `credentials` (user, password), as
    /// [`crate::export::Settings::credentials`] reads them.
    pub fn with_credentials(self, credentials: Option<&(String, String)>) -> Request {
        match credentials {
            Some((user, password)) => self.basic_auth(user, password),
            None => self,
        }
    }

    /// Sends it and judges the answer as an export ([`judge`]): 2xx is delivered. `what`
    /// names the target in messages.
    pub fn deliver(self, what: &str) -> Result<Response, ExportError> {
        let url = self.url.clone();
        judge(what, &url, send(self), |status| {
            (200..300).contains(&status)
        })
    }
}

/// An answer to a request to `url` judged as an export: a status `ok` accepts is delivered;
/// no answer, a 5xx, 408 or 429 is worth a retry; any other answer (a 4xx: bad data, bad
/// credentials) and a destination glint refused are permanent. `what` names the target in
/// messages.
pub fn judge(
    what: &str,
    url: &str,
    answer: Result<Response, HttpError>,
    ok: impl Fn(u16) -> bool,
) -> Result<Response, ExportError> {
    match answer {
        Ok(r) if ok(r.status) => Ok(r),
        Ok(r) => {
            let message = format!(
                "{what} at {url} answered {}: {}",
                r.status,
                excerpt(&r.text())
            );
            if r.status >= 500 || r.status == 408 || r.status == 429 {
                Err(ExportError::Retryable(message))
            } else {
                Err(ExportError::Permanent(message))
            }
        }
        Err(e @ HttpError::Transport(_)) => Err(ExportError::Retryable(format!(
            "{what} at {url} unreachable: {e}"
        ))),
        Err(e) => Err(ExportError::Permanent(format!("{what} at {url}: {e}"))),
    }
}

/// The first 300 chars of a body on one line: enough to say why, short enough for a log line.
pub fn excerpt(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// A URL split the way wasi:http takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub https: bool,
    /// `host:port` (the port given, or the scheme's).
    pub authority: String,
    /// From the first `/`, with the query (`/write?db=glint`); `/` if none.
    pub path_with_query: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let bad = |why: &str| HttpError::BadUrl(format!("{url:?}: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("no scheme; write http://host:port/path"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad(
                "it needs a host, and no user:password@ (give credentials as settings)",
            ));
        }
        let has_port = match authority.rsplit_once(':') {
            // An IPv6 literal is bracketed: `[::1]:8086`.
            Some((host, port)) => !host.ends_with(':') && port.parse::<u16>().is_ok(),
            None => false,
        };
        let authority = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        Ok(Url {
            https,
            authority,
            path_with_query: path,
        })
    }

    /// `base` with `path` appended (one `/` between them), for targets whose URL is a base
    /// (`http://host:8086` + `/write?db=x`).
    pub fn join(base: &str, path: &str) -> String {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// `%XX`-encodes a query value.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_text(e: &ErrorCode) -> String {
    match e {
        ErrorCode::DnsTimeout => "name lookup timed out".into(),
        ErrorCode::DnsError(d) => format!(
            "name lookup failed ({})",
            d.rcode.clone().unwrap_or_default()
        ),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTimeout => "connection timed out".into(),
        ErrorCode::ConnectionTerminated => "connection closed by the target".into(),
        ErrorCode::ConnectionReadTimeout => "no answer in time".into(),
        ErrorCode::HttpResponseTimeout => "no answer in time".into(),
        ErrorCode::InternalError(Some(m)) => m.clone(),
        other => format!("{other:?}"),
    }
}

/// Sends `request` through wasi:http and reads the whole answer (up to [`MAX_BODY`]).
pub fn send(request: Request) -> Result<Response, HttpError> {
    let url = Url::parse(&request.url)?;
    let outgoing = outgoing_request(&request, &url)?;
    let options = request_options(request.timeout);
    let body = outgoing
        .body()
        .map_err(|()| transport("the request body was taken twice"))?;
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| match e {
        ErrorCode::HttpRequestDenied => not_granted(&url),
        other => HttpError::Transport(error_text(&other)),
    })?;
    write_body(body, &request.body)?;
    let response = response_head(&future, &url)?;
    read_response(response)
}

/// A failure of the transport, for what went wrong on the way.
fn transport(what: &str) -> HttpError {
    HttpError::Transport(what.to_string())
}

/// The host's refusal of a destination not granted to the plugin.
fn not_granted(url: &Url) -> HttpError {
    HttpError::Denied(format!("{} is not a granted destination", url.authority))
}

/// The wasi:http request of `request` to `url`: its headers (with the body's length), method,
/// scheme, authority and path.
fn outgoing_request(request: &Request, url: &Url) -> Result<OutgoingRequest, HttpError> {
    let pairs: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .chain((!request.body.is_empty()).then(|| {
            (
                "content-length".to_string(),
                request.body.len().to_string().into_bytes(),
            )
        }))
        .collect();
    let headers = Fields::from_list(&pairs)
        .map_err(|e| HttpError::BadUrl(format!("a header is not valid: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let invalid = |what: &str| HttpError::BadUrl(format!("{}: {what}", request.url));
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("bad method"))?;
    outgoing
        .set_scheme(Some(if url.https {
            &Scheme::Https
        } else {
            &Scheme::Http
        }))
        .map_err(|()| invalid("bad scheme"))?;
    outgoing
        .set_authority(Some(&url.authority))
        .map_err(|()| invalid("bad host"))?;
    outgoing
        .set_path_with_query(Some(&url.path_with_query))
        .map_err(|()| invalid("bad path"))?;
    Ok(outgoing)
}

/// The request's deadlines: `timeout` to connect, for the first byte and between bytes.
fn request_options(timeout: Duration) -> RequestOptions {
    let options = RequestOptions::new();
    let nanos = timeout.as_nanos().min(u64::MAX as u128) as u64;
    // Not every host supports every timeout; one it refuses is left to its default.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    options
}

/// Writes the request's body `bytes` and finishes it.
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    {
        let stream = body
            .write()
            .map_err(|()| transport("the request body stream was taken twice"))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            // A failed write means the connection is gone: the answer says why.
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
    Ok(())
}

/// Waits for the answer's head: glint's refusal, and a certificate that proves nothing, are
/// [`HttpError::Denied`]; any other failure is [`HttpError::Transport`].
fn response_head(
    future: &FutureIncomingResponse,
    url: &Url,
) -> Result<IncomingResponse, HttpError> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(ErrorCode::HttpRequestDenied))) => Err(not_granted(url)),
        // glint would not talk to it: a retry meets the same certificate.
        Some(Ok(Err(ErrorCode::TlsCertificateError))) => Err(HttpError::Denied(format!(
            "the TLS certificate of {} does not prove its name or no CA glint trusts signed \
             it (the plugin's last_refusal says which)",
            url.authority
        ))),
        Some(Ok(Err(e))) => Err(HttpError::Transport(error_text(&e))),
        Some(Err(())) | None => Err(transport("the answer was lost")),
    }
}

/// The answer: its status, headers and body (up to [`MAX_BODY`]).
fn read_response(response: IncomingResponse) -> Result<Response, HttpError> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| transport("the answer's body was taken twice"))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| transport("the answer's body stream was taken twice"))?;
        while body.len() < MAX_BODY {
            match stream.blocking_read((MAX_BODY - body.len()).min(64 * 1024) as u64) {
                Ok(bytes) => body.extend_from_slice(&bytes),
                Err(_) => break,
            }
        }
    }
    let _ = IncomingBody::finish(incoming);
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_wasi_http_wants_them() {
        let u =
            Url::parse("http://127.0.0.1:8086/write?db=glint").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.authority, "127.0.0.1:8086");
        assert_eq!(u.path_with_query, "/write?db=glint");
        let u = Url::parse("https://example.org").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.https, u.authority.as_str(), u.path_with_query.as_str()),
            (true, "example.org:443", "/")
        );
        let u = Url::parse("http://[::1]:9091?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.authority.as_str(), u.path_with_query.as_str()),
            ("[::1]:9091", "/?x=1")
        );
        assert!(matches!(Url::parse("ftp://x"), Err(HttpError::BadUrl(_))));
        assert!(matches!(
            Url::parse("http://u:p@x"),
            Err(HttpError::BadUrl(_))
        ));
        assert_eq!(Url::join("http://h:1/", "/api/put"), "http://h:1/api/put");
        assert_eq!(query_escape("a b&c"), "a%20b%26c");
    }

    #[test]
    fn answers_judged_as_exports() {
        let answer = |status: u16| -> Result<Response, HttpError> {
            Ok(Response {
                status,
                headers: Vec::new(),
                body: b"no\n  such\tthing".to_vec(),
            })
        };
        let two_xx = |s: u16| (200..300).contains(&s);
        let judged =
            |answer: Result<Response, HttpError>| judge("Target", "http://h:1/x", answer, two_xx);
        assert!(judged(answer(204)).is_ok());
        assert!(matches!(
            judged(answer(404)),
            Err(ExportError::Permanent(m)) if m == "Target at http://h:1/x answered 404: no such thing"
        ));
        for status in [500, 503, 408, 429] {
            assert!(
                matches!(judged(answer(status)), Err(ExportError::Retryable(_))),
                "{status}"
            );
        }
        assert!(matches!(
            judged(Err(HttpError::Transport("connection refused".into()))),
            Err(ExportError::Retryable(m)) if m == "Target at http://h:1/x unreachable: connection refused"
        ));
        assert!(matches!(
            judged(Err(HttpError::Denied("h:1 is not a granted destination".into()))),
            Err(ExportError::Permanent(m)) if m.contains("refused by glint")
        ));
        assert!(judge("Target", "u", answer(412), |s| s == 412).is_ok());
    }

    #[test]
    fn credentials_only_when_given() {
        let auth = |r: Request| r.headers;
        assert!(auth(Request::get("http://h").with_credentials(None)).is_empty());
        let credentials = ("u".to_string(), "p".to_string());
        assert_eq!(
            auth(Request::get("http://h").with_credentials(Some(&credentials))),
            [("authorization".to_string(), "Basic dTpw".to_string())]
        );
    }
}
