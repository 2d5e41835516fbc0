//! Owns how an exporter's HTTPS request reaches its target: TCP to exactly the address the host
//! checked for the granted name (`sandbox::Grants::http_target`), never a second lookup of the
//! name (a name re-pointed in between, DNS rebinding, would lead elsewhere), then TLS with that
//! name as SNI and as the name the certificate must prove, against the public CAs
//! (webpki-roots) and those the operator adds (`ca_file`), then HTTP/1.1 under the request's
//! connect, first-byte and between-bytes timeouts.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{Connection, SendRequest};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// A timeout the request does not set: wasmtime-wasi-http's own default. (The host caps every
/// timeout at the plugin's deadline before a request gets here.)
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The biggest CA file read: a bundle of a few hundred CA certificates is ~200 KiB, so a file
/// past 1 MiB is not one.
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// What is left of a request once its answer's head is in: the connection, driven to its end
/// while the guest reads the body.
pub type Sent = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// The public CAs alone, built once: the trust of an exporter with no `ca_file`.
static PUBLIC: LazyLock<Result<Arc<ClientConfig>, String>> =
    LazyLock::new(|| client_config(public_roots()));

/// Why an exporter's `ca_file` cannot be used; each names the file and what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "cannot read the CA file {path}: {reason}; give the PEM file of the CA that signed the target's certificate"
    )]
    Read { path: String, reason: String },
    #[error(
        "the CA file {path} holds no certificate; give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)"
    )]
    Empty { path: String },
    #[error(
        "certificate {index} of the CA file {path} cannot be a trust anchor ({reason}); give the CA's own certificate in PEM form"
    )]
    Certificate {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

fn public_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// TLS 1.2 and 1.3 on ring (the provider wasmtime-wasi-http's TLS is built with), checking
/// certificates against `roots`.
fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The trust of an exporter with no `ca_file`: the public CAs (webpki-roots: Mozilla's list).
pub fn public_trust() -> Result<Arc<ClientConfig>, String> {
    (*PUBLIC).clone()
}

/// The public CAs plus every certificate in `ca_file` (PEM): the trust of an exporter whose
/// target's certificate a private CA signed (an internal InfluxDB...).
pub fn trust_with(ca_file: &Path) -> Result<Arc<ClientConfig>, TrustError> {
    let path = ca_file.display().to_string();
    // Read as plugin files are: a FIFO or a device under its name is refused, not waited on.
    let pem = crate::settings::file::read_regular(ca_file, MAX_CA_FILE_BYTES, "a CA file")
        .map_err(|e| TrustError::Read {
            path: path.clone(),
            reason: e.fault.to_string(),
        })?;
    let mut roots = public_roots();
    let public = roots.roots.len();
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let refused = |reason: String| TrustError::Certificate {
            path: path.clone(),
            index: i + 1,
            reason,
        };
        let cert = cert.map_err(|e| refused(format!("not valid PEM: {e}")))?;
        roots.add(cert).map_err(|e| refused(e.to_string()))?;
    }
    if roots.roots.len() == public {
        return Err(TrustError::Empty { path });
    }
    client_config(roots).map_err(TrustError::Setup)
}

/// Where a request goes: the name it was granted under, which the certificate must prove and
/// which is sent as SNI, and the address the host checked for that name.
#[derive(Debug, Clone, Copy)]
pub struct Pinned<'a> {
    pub host: &'a str,
    pub port: u16,
    pub addr: SocketAddr,
}

/// Sends `request` over TLS to exactly `to.addr`, the certificate checked for `to.host`
/// against `trust` (none: the public CAs alone). `refused` hears, in words for the operator,
/// why a target's certificate was not accepted (the guest only gets `TlsCertificateError`).
pub async fn send(
    mut request: http::Request<WasiBody>,
    to: Pinned<'_>,
    trust: Option<Arc<ClientConfig>>,
    options: RequestOptions,
    refused: impl FnOnce(String),
) -> Result<(http::Response<WasiBody>, Sent), Error> {
    let trust = match trust {
        Some(trust) => trust,
        None => public_trust().map_err(|e| Error::InternalError(Some(e)))?,
    };
    let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let name =
        ServerName::try_from(to.host.to_string()).map_err(|_| Error::HttpRequestUriInvalid)?;
    let tcp = match tokio::time::timeout(connect_timeout, TcpStream::connect(to.addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(Error::Connect(e)),
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let connector = tokio_rustls::TlsConnector::from(trust);
    let tls = match tokio::time::timeout(connect_timeout, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return Err(tls_failure(to, e, refused)),
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let (sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake::<_, WasiBody>(TokioIo::new(tls)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    // The request line carries the path alone; the Host header (wasmtime-wasi-http sets it
    // from the URL) names the target.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    exchange(sender, conn, request, options).await
}

/// What a failed TLS handshake is to the guest; a certificate that does not prove the name
/// (or that no trusted CA signed) is also a refusal the operator is told about, with the fix.
fn tls_failure(to: Pinned<'_>, e: std::io::Error, refused: impl FnOnce(String)) -> Error {
    let verdict = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match verdict {
        // Not TLS's verdict: the connection failed during the handshake.
        None => Error::Tls(e),
        Some(rustls::Error::InvalidCertificate(why)) => {
            refused(format!(
                "HTTPS to {}:{} ({}) refused: its certificate does not prove the name ({why}); \
                 it must be valid for {} and signed by a public CA or by one in this \
                 exporter's `ca_file` (PEM)",
                to.host, to.port, to.addr, to.host
            ));
            Error::TlsCertificateError
        }
        Some(rustls::Error::AlertReceived(alert)) => Error::TlsAlertReceived {
            alert_id: None,
            alert_message: Some(format!("{alert:?}")),
        },
        Some(_) => Error::TlsProtocolError,
    }
}

type TlsConnection = Connection<TokioIo<TlsStream<TcpStream>>, WasiBody>;

/// Sends the request on a connection past its handshake, driving the connection until the
/// answer's head is in (as wasmtime-wasi-http's own sender does); the rest of the connection
/// is returned to be driven while the body is read.
async fn exchange(
    mut sender: SendRequest<WasiBody>,
    conn: TlsConnection,
    request: http::Request<WasiBody>,
    options: RequestOptions,
) -> Result<(http::Response<WasiBody>, Sent), Error> {
    let first_byte = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
    // tokio's interval panics at zero: 1 ns is zero in effect.
    let between_bytes = options
        .between_bytes_timeout
        .unwrap_or(DEFAULT_TIMEOUT)
        .max(Duration::from_nanos(1));
    let answer = async move {
        let response = tokio::time::timeout(first_byte, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)??;
        let mut quiet = tokio::time::interval(between_bytes);
        quiet.reset();
        Ok::<_, Error>(response.map(|incoming| TimedBody { incoming, quiet }.boxed_unsync()))
    };
    let mut answer = std::pin::pin!(answer);
    let mut conn = Some(conn);
    let response = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = answer.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        let Some(driving) = conn.as_mut() else {
            return Poll::Pending;
        };
        let ended = ready!(Pin::new(driving).poll(cx));
        conn = None;
        match ended {
            Ok(()) => answer.as_mut().poll(cx),
            Err(e) => Poll::Ready(Err(Error::from(e))),
        }
    })
    .await?;
    let rest = async move {
        let Some(conn) = conn else {
            return Ok(());
        };
        conn.await.map_err(|e| {
            if e.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(e)
            }
        })
    };
    Ok((response, Box::new(rest) as Sent))
}

/// An answer's body that fails once the target is quiet for longer than the request's
/// between-bytes timeout.
struct TimedBody {
    incoming: Incoming,
    quiet: tokio::time::Interval,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(Some(Ok(frame))) => {
                self.quiet.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.quiet.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glint_tests::tls::{TestCa, https_sink};
    use http_body_util::{BodyExt, Empty};
    use std::sync::Mutex;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    /// A GET of `url` sent to `to` with `trust`: the answer's body, or the error, and what
    /// the operator was told of a refused certificate.
    fn get(
        url: &str,
        to: Pinned<'_>,
        trust: Option<Arc<ClientConfig>>,
    ) -> (Result<String, Error>, Option<String>) {
        let told = Mutex::new(None);
        let request = http::Request::get(url)
            .header(http::header::HOST, format!("{}:{}", to.host, to.port))
            .body(BodyExt::boxed_unsync(BodyExt::map_err(
                Empty::<Bytes>::new(),
                Error::from,
            )))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let seconds = Some(Duration::from_secs(10));
        let options = RequestOptions {
            connect_timeout: seconds,
            first_byte_timeout: seconds,
            between_bytes_timeout: seconds,
        };
        let refused = |reason: String| {
            *told.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let answer = runtime.block_on(async {
            let (response, rest) = send(request, to, trust, options, refused).await?;
            let body = BodyExt::collect(response.into_body());
            let (body, _) = tokio::join!(body, Box::into_pin(rest));
            Ok::<_, Error>(String::from_utf8_lossy(&body?.to_bytes()).into_owned())
        });
        let told = told.into_inner().unwrap_or_else(|e| e.into_inner());
        (answer, told)
    }

    fn test_trust(ca: &TestCa) -> Option<Arc<ClientConfig>> {
        Some(trust_with(&ca.cert).unwrap_or_else(|e| panic!("{e}")))
    }

    /// The rebinding case: the name leads to one server (127.0.0.1), the host checked another
    /// address (127.0.0.2, same port): the request reaches the checked one, with the name's
    /// certificate verified there.
    #[test]
    fn the_request_goes_to_the_checked_address_not_where_the_name_leads() {
        let tmp = tmp();
        let dir = tmp.path();
        let ca = TestCa::new(dir, "ca");
        let leaf = ca.leaf("localhost");
        let by_name = https_sink("127.0.0.1:0", &leaf, "the name's server");
        let checked = https_sink(&format!("127.0.0.2:{}", by_name.port), &leaf, "checked");
        let addr: SocketAddr = format!("127.0.0.2:{}", by_name.port)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let to = Pinned {
            host: "localhost",
            port: by_name.port,
            addr,
        };
        let url = format!("https://localhost:{}/pinned?x=1", by_name.port);
        let (answer, told) = get(&url, to, test_trust(&ca));
        assert_eq!(answer.ok().as_deref(), Some("checked"), "{told:?}");
        assert!(
            checked
                .requests()
                .iter()
                .any(|r| r.starts_with("GET /pinned?x=1 HTTP/1.1")),
            "{:?}",
            checked.requests()
        );
        assert!(by_name.requests().is_empty(), "{:?}", by_name.requests());
    }

    #[test]
    fn a_certificate_for_another_name_is_refused_naming_the_host() {
        let tmp = tmp();
        let dir = tmp.path();
        let ca = TestCa::new(dir, "ca");
        let server = https_sink("127.0.0.1:0", &ca.leaf("other.example"), "reached");
        let addr = SocketAddr::from(([127, 0, 0, 1], server.port));
        let to = Pinned {
            host: "localhost",
            port: server.port,
            addr,
        };
        let url = format!("https://localhost:{}/", server.port);
        let (answer, told) = get(&url, to, test_trust(&ca));
        assert!(
            matches!(answer, Err(Error::TlsCertificateError)),
            "{answer:?}"
        );
        let told = told.unwrap_or_default();
        assert!(
            told.contains(&format!("HTTPS to localhost:{} (", server.port))
                && told.contains("ca_file"),
            "{told}"
        );
        assert!(server.requests().is_empty(), "{:?}", server.requests());
    }

    #[test]
    fn a_private_ca_is_trusted_only_when_given() {
        let tmp = tmp();
        let dir = tmp.path();
        let ca = TestCa::new(dir, "ca");
        let server = https_sink("127.0.0.1:0", &ca.leaf("localhost"), "reached");
        let to = Pinned {
            host: "localhost",
            port: server.port,
            addr: SocketAddr::from(([127, 0, 0, 1], server.port)),
        };
        let url = format!("https://localhost:{}/", server.port);
        // No `ca_file`: the public CAs alone, which never signed the test CA's certificates.
        let (answer, told) = get(&url, to, None);
        assert!(
            matches!(answer, Err(Error::TlsCertificateError)),
            "{answer:?}"
        );
        assert!(told.is_some_and(|t| t.contains("ca_file")));
        let (answer, _) = get(&url, to, test_trust(&ca));
        assert_eq!(answer.ok().as_deref(), Some("reached"));
    }

    #[test]
    fn a_ca_file_that_cannot_be_used_says_which_and_why() {
        let tmp = tmp();
        let dir = tmp.path();
        let missing = dir.join("missing.pem");
        let e = trust_with(&missing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains(&missing.display().to_string()) && e.contains("cannot read"),
            "{e}"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap_or_else(|e| panic!("{e}"));
        let e = trust_with(&junk)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains(&junk.display().to_string()) && e.contains("no certificate"),
            "{e}"
        );
    }
}
