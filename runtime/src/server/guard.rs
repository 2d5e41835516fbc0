//! The HTTP layer's own errors as JSON: every request head is read and checked here before
//! hyper sees it. hyper answers a head it cannot take (too long a URI, too large or malformed
//! headers) itself, with a bare status and no body, and no axum code ever runs; nor does it
//! time out a head that never ends. A refused head is handed on replaced by a stand-in
//! request, which `answer_refusals` answers with the error in the server's shape
//! (`{status, message}`), in its turn after the answers before it on the connection.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::error::ApiError;

/// Longest request head (request line and headers): 32 KiB holds the longest URI below and
/// a few KiB of cookies and tokens; hyper's own limit is ~400 KiB, so hyper never meets a
/// head too big for it.
const MAX_HEAD: usize = 32 * 1024;
/// Longest request target: 8 KiB, as nginx's default line buffer; glint's longest URIs (a
/// plugin list in a query) are a few hundred bytes. hyper's own limit is 64 KiB.
const MAX_URI: usize = 8 * 1024;
/// Most header lines: a browser sends about 20; hyper's own limit is 100.
const MAX_HEADERS: usize = 64;
/// Largest request body: glint's API reads none; 64 KiB lets a client that sends a small
/// one anyway (`{}` with a POST) through, when its Content-Length says so.
const MAX_BODY: u64 = 64 * 1024;
/// Longest a head may take to arrive once its first byte has: a client sends one in well
/// under a second; 10 s leaves a slow link room, while a connection held open by a head
/// trickling in (slowloris) is answered and closed.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the client at a time: a whole head, usually.
const READ_CHUNK: usize = 8 * 1024;

/// What hyper reads in place of a refused head: a request it takes, on which it then closes
/// the connection.
const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\nhost: glint\r\nconnection: close\r\n\r\n";

/// The API's listener: each connection it accepts is read through a [`Guard`].
pub(super) struct GuardedListener(pub(super) TcpListener);

impl Listener for GuardedListener {
    type Io = Guard<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (Guard::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// What a connection's guard tells `answer_refusals` (through axum's `ConnectInfo`): which of
/// the connection's requests is the stand-in of a refused head, and the error to answer.
#[derive(Clone, Default)]
pub(super) struct Link(Arc<Refusals>);

#[derive(Default)]
struct Refusals {
    /// Requests `answer_refusals` has seen on the connection.
    seen: AtomicU64,
    /// The stand-in's number among them, and its answer.
    pending: Mutex<Option<(u64, ApiError)>>,
}

impl Link {
    fn refuse(&self, request: u64, error: ApiError) {
        *self
            .0
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((request, error));
    }

    /// Counts one more request; if it is the stand-in, the error to answer it with. Counted,
    /// not assumed: the guard may refuse a head while an earlier request is still answered.
    fn next_request(&self) -> Option<ApiError> {
        let number = self.0.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let mut pending = self
            .0
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.as_ref().is_some_and(|(at, _)| *at == number) {
            return pending.take().map(|(_, error)| error);
        }
        None
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for Link {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Link {
        stream.io().link.clone()
    }
}

/// Answers the stand-in of a refused head with its error; every other request goes on. The
/// outermost layer: it must count every request of the connection.
pub(super) async fn answer_refusals(request: Request, next: Next) -> Response {
    let refusal = request
        .extensions()
        .get::<ConnectInfo<Link>>()
        .and_then(|ConnectInfo(link)| link.next_request());
    match refusal {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

/// A connection as hyper reads it: request heads only once complete and sound, the bodies
/// their Content-Length announces, and the stand-in in place of a refused head.
pub(super) struct Guard<S> {
    inner: S,
    /// Bytes read from the client and not yet handed to hyper.
    inbox: Vec<u8>,
    /// How many of `inbox`'s first bytes are checked and may go to hyper.
    cleared: usize,
    /// Body bytes of the last head still to come, handed on as they are.
    body_left: u64,
    /// Bytes of `inbox` already known to hold no complete head.
    scanned: usize,
    /// When the head being read must be complete; set at its first byte.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// `HEAD_TIMEOUT`, but for the tests.
    head_timeout: Duration,
    /// Heads handed to hyper on this connection.
    heads: u64,
    /// A head asked to switch protocols: the connection is not HTTP any more once hyper
    /// answers it `101`, and stays HTTP (every later head checked) if it answers otherwise.
    upgrade_pending: bool,
    mode: Mode,
    link: Link,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Request heads, and the bodies their Content-Length announces.
    Heads,
    /// After hyper switched protocols (`101` to a WebSocket's request): what follows is not
    /// HTTP.
    PassThrough,
    /// A head was refused: after the stand-in, what the client sends is dropped.
    Refused,
}

impl<S> Guard<S> {
    fn new(inner: S) -> Guard<S> {
        Guard {
            inner,
            inbox: Vec::new(),
            cleared: 0,
            body_left: 0,
            scanned: 0,
            deadline: None,
            head_timeout: HEAD_TIMEOUT,
            heads: 0,
            upgrade_pending: false,
            mode: Mode::Heads,
            link: Link::default(),
        }
    }

    /// Decides what the bytes in `inbox` are: body bytes the last head announced are
    /// cleared; a head is cleared whole once complete and sound, else refused. False: more
    /// bytes are needed.
    fn advance(&mut self) -> bool {
        if self.body_left > 0 {
            let n = usize::try_from(self.body_left)
                .map_or(self.inbox.len(), |left| left.min(self.inbox.len()));
            self.cleared = n;
            self.body_left -= n as u64;
            return true;
        }
        // Empty lines between requests (some clients end a body with one) are no head, and
        // hyper skips them: dropped here, so they neither start a head's deadline nor fill
        // the buffer.
        let blank = self
            .inbox
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if blank > 0 {
            self.inbox.drain(..blank);
            self.scanned = 0;
            if self.inbox.is_empty() {
                return false;
            }
        }
        // Parsed at its first bytes (what is not HTTP at all is refused at once), then again
        // only when the new bytes may end it (an empty line: `\n\n` or `\n\r\n`, counted
        // from 2 bytes before them): a head trickling in line by line is not parsed again at
        // each line, which made a 32 KiB head cost a megabyte of parsing.
        let fresh = self.scanned == 0
            || self
                .inbox
                .get(self.scanned.saturating_sub(2)..)
                .is_some_and(|new| {
                    new.windows(2).any(|w| w == b"\n\n") || new.windows(3).any(|w| w == b"\n\r\n")
                });
        let head = if fresh {
            inspect(&self.inbox)
        } else {
            Head::Partial
        };
        match head {
            Head::Partial => {
                if let Some(error) = overlong(&self.inbox) {
                    self.refuse(error);
                    return true;
                }
                self.scanned = self.inbox.len();
                // A head's bytes have started (blank lines were dropped above): it must be
                // complete within the deadline.
                self.arm_deadline();
                false
            }
            Head::Sound { len, body, upgrade } => {
                self.cleared = len;
                self.body_left = body;
                self.scanned = 0;
                self.deadline = None;
                self.heads += 1;
                // A new head while a switch was asked: hyper refused it (a client that got
                // `101` sends no head).
                self.upgrade_pending = upgrade;
                true
            }
            Head::Refused(error) => {
                self.refuse(error);
                true
            }
        }
    }

    /// Hands hyper the stand-in in place of the refused head and tells `answer_refusals` its
    /// answer; nothing after it is read as HTTP.
    fn refuse(&mut self, error: ApiError) {
        self.heads += 1;
        self.link.refuse(self.heads, error);
        self.inbox.clear();
        self.inbox.extend_from_slice(STAND_IN);
        self.cleared = STAND_IN.len();
        self.body_left = 0;
        self.deadline = None;
        self.mode = Mode::Refused;
    }

    /// Starts the deadline of the head being read, unless it runs already.
    fn arm_deadline(&mut self) {
        if self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep(self.head_timeout)));
        }
    }

    /// What hyper writes: its answer to a head that asked to switch protocols says whether it
    /// switched (`101`), after which the connection's bytes pass as they are.
    fn answering(&mut self, bytes: &[u8]) {
        if self.upgrade_pending && bytes.starts_with(b"HTTP/1.1 ") {
            if bytes.starts_with(b"HTTP/1.1 101 ") {
                self.mode = Mode::PassThrough;
            }
            self.upgrade_pending = false;
        }
    }

    /// Whether the head being read is past its deadline (else the timer will wake the task).
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }
}

impl<S: AsyncRead + Unpin> Guard<S> {
    /// Reads what the client has sent into `inbox`: how many bytes, 0 at its end.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
        self.inbox.extend_from_slice(buf.filled());
        Poll::Ready(Ok(buf.filled().len()))
    }

    /// After a refusal, what the client still sends is read and dropped: closing a socket
    /// with unread bytes resets the connection, and the client may lose the answer. Never
    /// the end for hyper, which closes once it has answered the stand-in.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.fill(cx)) {
                Ok(0) => return Poll::Pending,
                Ok(_) => self.inbox.clear(),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.cleared > 0 {
                let n = this.cleared.min(out.remaining());
                out.put_slice(&this.inbox[..n]);
                this.inbox.drain(..n);
                this.cleared -= n;
                return Poll::Ready(Ok(()));
            }
            match this.mode {
                Mode::PassThrough if this.inbox.is_empty() => {
                    return Pin::new(&mut this.inner).poll_read(cx, out);
                }
                Mode::PassThrough => {
                    this.cleared = this.inbox.len();
                    continue;
                }
                Mode::Refused => return this.drain(cx),
                Mode::Heads => {}
            }
            if !this.inbox.is_empty() && this.advance() {
                continue;
            }
            // A connection that has sent no head yet has the same time to send its first one:
            // one that stays silent would hold its socket for ever.
            if this.heads == 0 {
                this.arm_deadline();
            }
            match this.fill(cx) {
                Poll::Ready(Ok(0)) => {
                    // The client's end. A head cut short by it gets no answer, as from hyper:
                    // the client has stopped talking, not asked anything.
                    this.inbox.clear();
                    this.deadline = None;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if !this.timed_out(cx) {
                        return Poll::Pending;
                    }
                    let late = too_slow(this.head_timeout);
                    this.refuse(late);
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answering(buf);
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            this.answering(first);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What the bytes at the start of a request are.
#[derive(Debug)]
enum Head {
    /// Not all there yet.
    Partial,
    /// A head hyper takes: its length, the body after it, and whether the connection then
    /// switches protocols.
    Sound {
        len: usize,
        body: u64,
        upgrade: bool,
    },
    Refused(ApiError),
}

/// Checks a request head as hyper does, with its parser (httparse) and its URI and method
/// types, within glint's limits, which are below hyper's: hyper never meets a head it would
/// refuse itself.
fn inspect(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Head::Refused(ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!("the request has more than {MAX_HEADERS} header lines; send fewer"),
            ));
        }
        Err(error) => return Head::Refused(malformed(&request, error)),
    };
    if len > MAX_HEAD {
        return Head::Refused(too_large());
    }
    let target = request.path.unwrap_or_default().as_bytes();
    if target.len() > MAX_URI {
        return Head::Refused(uri_too_long(target.len()));
    }
    let Ok(method) = Method::from_bytes(request.method.unwrap_or_default().as_bytes()) else {
        return Head::Refused(malformed(&request, httparse::Error::Token));
    };
    if let Err(e) = Uri::try_from(target) {
        let shown = String::from_utf8_lossy(&target[..target.len().min(80)]);
        return Head::Refused(ApiError::bad_request(format!(
            "the request target {shown:?} is not a valid URI ({e}); percent-encode the \
             characters a URI cannot hold"
        )));
    }
    match framing(&method, request.version, &*request.headers) {
        Ok((body, upgrade)) => Head::Sound { len, body, upgrade },
        Err(error) => Head::Refused(error),
    }
}

/// The body a sound head announces (its Content-Length, read as hyper reads it) and whether
/// the connection then switches protocols (CONNECT, or HTTP/1.1's Upgrade); or the refusal.
fn framing(
    method: &Method,
    version: Option<u8>,
    headers: &[httparse::Header<'_>],
) -> Result<(u64, bool), ApiError> {
    let mut length: Option<u64> = None;
    let mut upgrade = *method == Method::CONNECT;
    for header in headers {
        let name = header.name;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ApiError::new(
                StatusCode::LENGTH_REQUIRED,
                "glint's API reads no request body, and no chunked one (Transfer-Encoding): \
                 send none, or give its Content-Length",
            ));
        }
        if name.eq_ignore_ascii_case("content-length") {
            let n = digits(header.value).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Content-Length {:?} is not a number of bytes",
                    String::from_utf8_lossy(header.value)
                ))
            })?;
            if length.is_some_and(|first| first != n) {
                return Err(ApiError::bad_request(
                    "the request has two different Content-Length headers; send one",
                ));
            }
            length = Some(n);
        }
        if name.eq_ignore_ascii_case("upgrade") && version == Some(1) {
            upgrade = true;
        }
    }
    let body = length.unwrap_or(0);
    if body > MAX_BODY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is {body} bytes; glint's API reads none, and takes {MAX_BODY} \
                 at most"
            ),
        ));
    }
    Ok((body, upgrade))
}

/// A Content-Length value: digits only, as hyper reads it (no sign, no spaces, no list).
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// A head httparse cannot read, naming the part at fault (httparse fills the request's
/// parts in order, up to the bad one).
fn malformed(request: &httparse::Request<'_, '_>, error: httparse::Error) -> ApiError {
    let part = if request.method.is_none() {
        "method"
    } else if request.path.is_none() {
        "target (the path)"
    } else if request.version.is_none() {
        "HTTP version"
    } else {
        "header lines"
    };
    ApiError::bad_request(format!(
        "malformed request: its {part} cannot be read ({error}); glint serves HTTP/1.1, and a \
         request starts like `GET /api/3/status HTTP/1.1`, then `Name: value` header lines"
    ))
}

/// A head past `MAX_HEAD` that has not ended: a URI too long if its first line has not
/// ended either, else a head too large.
fn overlong(bytes: &[u8]) -> Option<ApiError> {
    if bytes.len() <= MAX_HEAD {
        return None;
    }
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    Some(if bytes[start..].contains(&b'\n') {
        too_large()
    } else {
        uri_too_long(bytes.len() - start)
    })
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!(
            "the request head is over {} KiB; send fewer or shorter headers",
            MAX_HEAD >> 10
        ),
    )
}

fn too_slow(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request head did not arrive within {} s of its first byte; send it whole",
            limit.as_secs_f64()
        ),
    )
}

fn uri_too_long(seen: usize) -> ApiError {
    ApiError::new(
        StatusCode::URI_TOO_LONG,
        format!(
            "the request target is {seen} bytes or more; glint takes {MAX_URI} at most: shorten \
             the path or the query"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn refused(bytes: &[u8]) -> ApiError {
        match inspect(bytes) {
            Head::Refused(error) => error,
            other => panic!(
                "{:?} was not refused: {other:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }

    #[test]
    fn a_sound_head_is_taken_whole_with_the_body_it_announces() {
        let get = "GET /api/3/cpu?x=1 HTTP/1.1\r\nHost: x\r\n\r\n";
        let next = format!("{get}GET /next");
        assert!(matches!(
            inspect(next.as_bytes()),
            Head::Sound { len, body: 0, upgrade: false } if len == get.len()
        ));
        assert!(matches!(inspect(&get.as_bytes()[..30]), Head::Partial));
        let post = b"POST /api/3/plugins/cpu/enable HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        assert!(matches!(inspect(post), Head::Sound { body: 2, .. }));
        let twice = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
        assert!(matches!(inspect(twice), Head::Sound { body: 2, .. }));
        let ws = b"GET /api/3/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        assert!(matches!(inspect(ws), Head::Sound { upgrade: true, .. }));
        // HTTP/1.0 has no upgrade: hyper goes on reading requests, and so does the guard.
        let old = b"GET /api/3/ws HTTP/1.0\r\nUpgrade: websocket\r\n\r\n";
        assert!(matches!(inspect(old), Head::Sound { upgrade: false, .. }));
    }

    #[test]
    fn each_head_hyper_would_refuse_is_refused_with_its_status_and_reason() {
        let cases: Vec<(Vec<u8>, u16, &str)> = vec![
            (b"GET / HTTP/2.0\r\n\r\n".to_vec(), 400, "HTTP version"),
            (b"G(T / HTTP/1.1\r\n\r\n".to_vec(), 400, "method"),
            (
                b"GET /a<b HTTP/1.1\r\n\r\n".to_vec(),
                400,
                "\"/a<b\" is not a valid URI",
            ),
            (
                b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".to_vec(),
                400,
                "header lines",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n".to_vec(),
                400,
                "\"+2\"",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n".to_vec(),
                400,
                "two different",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
                411,
                "Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n".to_vec(),
                413,
                "65537 bytes",
            ),
            (
                format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI)).into_bytes(),
                414,
                "8193 bytes",
            ),
            (
                format!(
                    "GET / HTTP/1.1\r\n{}\r\n",
                    "A: b\r\n".repeat(MAX_HEADERS + 1)
                )
                .into_bytes(),
                431,
                "more than 64 header lines",
            ),
            (
                format!("GET / HTTP/1.1\r\nA: {}\r\n\r\n", "b".repeat(MAX_HEAD)).into_bytes(),
                431,
                "over 32 KiB",
            ),
        ];
        for (bytes, status, reason) in cases {
            let error = refused(&bytes);
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            assert_eq!(
                error.status.as_u16(),
                status,
                "{shown:?}: {}",
                error.message
            );
            assert!(
                error.message.contains(reason),
                "{shown:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn a_head_over_the_limit_before_its_end_is_a_long_uri_or_a_large_head() {
        let line = format!("GET /{}", "a".repeat(MAX_HEAD));
        assert_eq!(
            overlong(line.as_bytes()).map(|e| e.status.as_u16()),
            Some(414)
        );
        let header = format!("\r\nGET / HTTP/1.1\r\nA: {}", "b".repeat(MAX_HEAD));
        assert_eq!(
            overlong(header.as_bytes()).map(|e| e.status.as_u16()),
            Some(431)
        );
        assert!(overlong(&line.as_bytes()[..MAX_HEAD]).is_none());
        assert_eq!(digits(b"1024"), Some(1024));
        for bad in ["", "1 2", "-1", "99999999999999999999999"] {
            assert_eq!(digits(bad.as_bytes()), None, "{bad:?}");
        }
    }

    /// What hyper reads through a guard from `sent`, until the guard has nothing more for
    /// it (an end, or nothing within 100 ms).
    async fn hyper_reads(guard: &mut Guard<DuplexStream>) -> Vec<u8> {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        let wait = Duration::from_millis(100);
        while let Ok(Ok(n)) = tokio::time::timeout(wait, guard.read(&mut chunk)).await {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
        seen
    }

    /// A guard on a connection the client wrote `sent` to; the client's end, to drop.
    async fn guarded(sent: &[u8]) -> (DuplexStream, Guard<DuplexStream>) {
        // The buffer holds all of it: the write does not wait for a reader.
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(sent).await.expect("write");
        (client, Guard::new(server))
    }

    #[tokio::test]
    async fn a_bad_head_after_good_ones_becomes_the_stand_in_answered_in_turn() {
        let good = "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let sent = format!("{good}GET /c HTTP/9.9\r\n\r\nGET /d HTTP/1.1\r\n\r\n");
        let (_client, mut guard) = guarded(sent.as_bytes()).await;
        let read = hyper_reads(&mut guard).await;
        assert_eq!(read, [good.as_bytes(), STAND_IN].concat());
        let link = guard.link.clone();
        assert!(link.next_request().is_none());
        assert!(link.next_request().is_none());
        let answer = link
            .next_request()
            .expect("the third request is the stand-in");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(link.next_request().is_none());
    }

    #[tokio::test]
    async fn after_an_upgrade_the_bytes_pass_as_they_are() {
        let head = "GET /api/3/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let (mut client, mut guard) = guarded(head.as_bytes()).await;
        assert_eq!(hyper_reads(&mut guard).await, head.as_bytes());
        // Not switched until hyper says so: the head only asked.
        assert_eq!(guard.mode, Mode::Heads);
        guard.answering(b"HTTP/1.1 101 Switching Protocols\r\n");
        assert_eq!(guard.mode, Mode::PassThrough);
        let frames = b"\x81\x05hello not http\r\n\r\n";
        client.write_all(frames).await.expect("write");
        assert_eq!(hyper_reads(&mut guard).await, frames);
    }

    #[tokio::test]
    async fn a_switch_refused_leaves_every_later_head_checked() {
        let head = "GET /api/3/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let (mut client, mut guard) = guarded(head.as_bytes()).await;
        assert_eq!(hyper_reads(&mut guard).await, head.as_bytes());
        // Refused (a wrong password): the connection stays HTTP.
        guard.answering(b"HTTP/1.1 401 Unauthorized\r\n");
        assert_eq!(guard.mode, Mode::Heads);
        client
            .write_all(b"GET /c HTTP/9.9\r\n\r\n")
            .await
            .expect("write");
        assert_eq!(hyper_reads(&mut guard).await, STAND_IN);
        assert_eq!(guard.mode, Mode::Refused);
    }

    #[tokio::test]
    async fn a_connection_that_never_sends_a_head_is_answered_at_the_deadline() {
        let (_client, mut guard) = guarded(b"\r\n\r\n").await;
        guard.head_timeout = Duration::from_millis(50);
        // hyper_reads gives up after 100 ms without bytes: the stand-in comes at 50 ms.
        assert_eq!(hyper_reads(&mut guard).await, STAND_IN);
        let answer = guard
            .link
            .next_request()
            .expect("the first request is the stand-in");
        assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_head_that_never_ends_times_out_and_one_cut_short_ends_quietly() {
        let (client, mut guard) = guarded(b"GET /api/3/cpu HTTP/1.1\r\nHost: x\r\n").await;
        guard.head_timeout = Duration::from_millis(50);
        assert_eq!(hyper_reads(&mut guard).await, STAND_IN);
        let answer = guard.link.next_request().expect("the stand-in");
        assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
        drop(client);

        let (client, mut guard) = guarded(b"GET /api/3/cpu HTTP/1.1\r\n").await;
        drop(client);
        assert!(hyper_reads(&mut guard).await.is_empty());
        assert!(guard.link.next_request().is_none());
    }

    #[tokio::test]
    async fn what_is_not_http_at_all_is_refused_at_once_not_at_the_timeout() {
        // A TLS hello, sent to the plain HTTP port: no line feed ever comes.
        let (_client, mut guard) = guarded(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").await;
        assert_eq!(hyper_reads(&mut guard).await, STAND_IN);
        let answer = guard.link.next_request().expect("the stand-in");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn what_follows_a_refused_head_is_drained_not_handed_on() {
        let sent = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(3 * MAX_HEAD));
        let (_client, mut guard) = guarded(sent.as_bytes()).await;
        assert_eq!(hyper_reads(&mut guard).await, STAND_IN);
        assert!(guard.inbox.is_empty());
        let answer = guard.link.next_request().expect("the stand-in");
        assert_eq!(answer.status, StatusCode::URI_TOO_LONG);
    }
}
