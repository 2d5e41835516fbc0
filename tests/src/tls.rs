//! TLS for the tests: a certificate authority and server certificates made with the `openssl`
//! command (the system's), and an HTTPS server that answers every request with a body of the
//! test's choosing and keeps what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Requests an [`HttpsSink`] keeps: a test reads the first few.
pub const HTTPS_KEEPS: usize = 16;

/// The longest body an [`HttpsSink`] reads: a test's batches are a few KiB.
const MAX_BODY: usize = 1 << 20;

/// How long an [`HttpsSink`] waits for a client that went quiet: the host's probe of which
/// address answers connects and leaves without a word.
const QUIET: Duration = Duration::from_secs(10);

/// EC P-256 keys: made at once, and verified by rustls's ring provider.
const NEW_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// Days a test certificate is valid: from now, for any test run.
const DAYS: &str = "30";

/// A test CA: its certificate (what a client must trust to reach its servers) and key.
pub struct TestCa {
    dir: PathBuf,
    name: String,
    pub cert: PathBuf,
    key: PathBuf,
}

/// A server certificate signed by a [`TestCa`], and its key.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Runs `openssl` with `args` in `dir`; fails the test with its stderr if it fails.
fn openssl(dir: &Path, args: &[String]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

impl TestCa {
    /// A new CA named `name`, its files in `dir`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        let mut args = strings(&["req", "-x509", "-new"]);
        args.extend(strings(&NEW_KEY));
        args.extend(strings(&["-nodes", "-days", DAYS, "-subj"]));
        args.push(format!("/CN=glint test CA {name}"));
        args.extend(strings(&[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
        ]));
        args.push(key.display().to_string());
        args.push("-out".into());
        args.push(cert.display().to_string());
        openssl(dir, &args);
        TestCa {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            cert,
            key,
        }
    }

    /// A server certificate for the DNS name `host`, signed by this CA.
    pub fn leaf(&self, host: &str) -> Leaf {
        let path = |ext: &str| {
            let file = format!("{}-{host}.{ext}", self.name);
            self.dir.join(file).display().to_string()
        };
        std::fs::write(
            path("ext"),
            format!(
                "subjectAltName = DNS:{host}\nbasicConstraints = critical,CA:FALSE\n\
                 keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path("ext")));
        let mut request = strings(&["req", "-new"]);
        request.extend(strings(&NEW_KEY));
        request.extend(strings(&["-nodes", "-subj"]));
        request.push(format!("/CN={host}"));
        request.extend(["-keyout".into(), path("key"), "-out".into(), path("csr")]);
        openssl(&self.dir, &request);
        let mut sign = strings(&["x509", "-req", "-days", DAYS, "-CAcreateserial"]);
        sign.extend([
            "-in".into(),
            path("csr"),
            "-CA".into(),
            self.cert.display().to_string(),
            "-CAkey".into(),
            self.key.display().to_string(),
            "-CAserial".into(),
            self.dir
                .join(format!("{}.srl", self.name))
                .display()
                .to_string(),
            "-extfile".into(),
            path("ext"),
            "-out".into(),
            path("pem"),
        ]);
        openssl(&self.dir, &sign);
        Leaf {
            cert: PathBuf::from(path("pem")),
            key: PathBuf::from(path("key")),
        }
    }
}

/// An HTTPS server (HTTP/1.1) with a [`Leaf`]'s certificate.
pub struct HttpsSink {
    pub port: u16,
    /// Each request's first line, a space and its body (the first [`HTTPS_KEEPS`]).
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl HttpsSink {
    /// What it was sent so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Serves HTTPS on `bind` (`127.0.0.1:0` for any free port) with `leaf`: every request is
/// answered `200` with `answer` as the body.
pub fn https_sink(bind: &str, leaf: &Leaf, answer: &'static str) -> HttpsSink {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&leaf.cert)
        .and_then(|certs| certs.collect())
        .unwrap_or_else(|e| panic!("{}: {e}", leaf.cert.display()));
    let key = PrivateKeyDer::from_pem_file(&leaf.key)
        .unwrap_or_else(|e| panic!("{}: {e}", leaf.key.display()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .unwrap_or_else(|e| panic!("TLS server config: {e}"));
    let config = Arc::new(config);
    let listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("{bind}: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let kept = requests.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, kept) = (config.clone(), kept.clone());
            // A thread each: a client that never speaks must not hold up the next one.
            std::thread::spawn(move || serve(tcp, config, &kept, answer));
        }
    });
    HttpsSink { port, requests }
}

/// One connection: the handshake, one request, the answer. A failed handshake (a client that
/// refused the certificate, or a probe that only connected) ends it quietly.
fn serve(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    kept: &Mutex<Vec<String>>,
    answer: &str,
) {
    let _ = tcp.set_read_timeout(Some(QUIET));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let (first, body) = {
        let mut reader = BufReader::new(&mut tls);
        let mut first = String::new();
        if reader.read_line(&mut first).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            line.clear();
        }
        let mut body = vec![0; length.min(MAX_BODY)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        (first, body)
    };
    {
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < HTTPS_KEEPS {
            kept.push(format!(
                "{} {}",
                first.trim_end(),
                String::from_utf8_lossy(&body)
            ));
        }
    }
    let _ = write!(
        tls,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    tls.conn.send_close_notify();
    let _ = tls.flush();
}
