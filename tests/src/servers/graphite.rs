//! Graphite's carbon-cache: the plaintext line receiver, read back from its whisper files.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Process, create_dir, free_ports, now_secs, spawn_until_ready, write_file};

const GRAPHITE: &str = "Graphite carbon-cache (`carbon-cache`, from the Debian package \
                        graphite-carbon: apt-get install graphite-carbon)";

/// Graphite's carbon-cache in the foreground (`--nodaemon`), plaintext line receiver on
/// 127.0.0.1:`line_port` (TCP; `name value timestamp\n`), its pickle receiver and cache-query
/// port also on loopback, tags off (with tags on it posts every new series to a graphite-web at
/// 127.0.0.1:80), no self-metrics. Whisper files under `<dir>/graphite-<port>/whisper/`, one
/// per metric, dots as directories, at 1 s resolution kept for one hour (points older than an
/// hour are dropped; two points in one second keep the last). A new metric's file appears
/// about 0.3 s after it arrives: wait with [`wait_for`](super::wait_for).
pub struct Graphite {
    pub process: Process,
    pub line_port: u16,
    pub pickle_port: u16,
    pub query_port: u16,
    /// The whisper tree.
    pub whisper: PathBuf,
}

fn carbon_config(home: &Path, line_port: u16, pickle_port: u16, query_port: u16) -> String {
    let slash = |p: PathBuf| {
        let mut text = p.display().to_string();
        text.push('/');
        text
    };
    format!(
        "# Written by glint's tests: everything in this directory, on 127.0.0.1.
[cache]
STORAGE_DIR = {storage}
LOCAL_DATA_DIR = {whisper}
WHITELISTS_DIR = {lists}
CONF_DIR = {conf}
LOG_DIR = {logs}
PID_DIR = {conf}
DATABASE = whisper
USER =
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 0
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line_port}
ENABLE_UDP_LISTENER = False
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = {line_port}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query_port}
ENABLE_MANHOLE = False
ENABLE_AMQP = False
LOG_UPDATES = False
LOG_CREATES = True
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
",
        storage = slash(home.join("storage")),
        whisper = slash(home.join("whisper")),
        lists = slash(home.join("lists")),
        conf = slash(home.to_path_buf()),
        logs = slash(home.join("log")),
    )
}

impl Graphite {
    pub fn start(dir: &Path) -> Graphite {
        create_dir(GRAPHITE, dir);
        let (process, (line_port, pickle_port, query_port, home)) = spawn_until_ready(
            GRAPHITE,
            || {
                let ports = free_ports(3);
                let (line_port, pickle_port, query_port) = (ports[0], ports[1], ports[2]);
                let home = dir.join(format!("graphite-{line_port}"));
                create_dir(GRAPHITE, &home);
                let config = home.join("carbon.conf");
                write_file(
                    GRAPHITE,
                    &config,
                    &carbon_config(&home, line_port, pickle_port, query_port),
                );
                write_file(
                    GRAPHITE,
                    &home.join("storage-schemas.conf"),
                    "[default]\npattern = .*\nretentions = 1s:1h\n",
                );
                write_file(
                    GRAPHITE,
                    &home.join("storage-aggregation.conf"),
                    "[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n",
                );
                let pidfile = home.join("carbon-cache.pid");
                // A stale pidfile whose PID is alive again would stop it from starting.
                let _ = fs::remove_file(&pidfile);
                let log = dir.join(format!("graphite-{line_port}.log"));
                let mut cmd = Command::new("carbon-cache");
                cmd.arg(format!("--config={}", config.display()))
                    .arg(format!("--pidfile={}", pidfile.display()))
                    .arg("--nodaemon")
                    .arg("start")
                    .env("PYTHONWARNINGS", "ignore");
                let process = Process::spawn(GRAPHITE, cmd, &log);
                (process, (line_port, pickle_port, query_port, home))
            },
            |s: &(u16, u16, u16, PathBuf)| TcpStream::connect(("127.0.0.1", s.0)).is_ok(),
        );
        Graphite {
            process,
            line_port,
            pickle_port,
            query_port,
            whisper: home.join("whisper"),
        }
    }

    /// Every metric stored so far (dotted names, from the whisper files), sorted.
    pub fn metrics(&self) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    walk(&path, &format!("{prefix}{name}."), out);
                } else if let Some(stem) = name.strip_suffix(".wsp") {
                    out.push(format!("{prefix}{stem}"));
                }
            }
        }
        let mut names = Vec::new();
        walk(&self.whisper, "", &mut names);
        names.sort();
        names
    }

    /// The points of `metric` (dotted name) as (unix seconds, value), oldest first; none if
    /// it has no file yet. Read from its whisper file (`whisper-fetch` from the Debian package
    /// python3-whisper prints the same by hand).
    pub fn points(&self, metric: &str) -> Vec<(u64, f64)> {
        let mut path = self.whisper.clone();
        for part in metric.split('.') {
            path.push(part);
        }
        path.set_extension("wsp");
        let Ok(bytes) = fs::read(&path) else {
            return Vec::new();
        };
        let mut points = whisper_points(&bytes);
        // Slots left from over an hour ago (none in a test's life) are not data.
        let oldest = now_secs().saturating_sub(3600);
        points.retain(|(ts, _)| *ts >= oldest);
        points
    }
}

/// The points of a whisper file's first (finest) archive. Big-endian: header
/// `aggregation u32, max_retention u32, xff f32, archive_count u32`, then per archive
/// `offset u32, seconds_per_point u32, points u32`, then points `timestamp u32, value f64`.
fn whisper_points(bytes: &[u8]) -> Vec<(u64, f64)> {
    let u32_at = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let f64_at = |at: usize| -> Option<f64> {
        let b = bytes.get(at..at + 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(f64::from_be_bytes(a))
    };
    let (Some(offset), Some(count)) = (u32_at(16), u32_at(24)) else {
        return Vec::new();
    };
    let mut points = Vec::new();
    for i in 0..count as usize {
        let at = offset as usize + 12 * i;
        if let (Some(ts), Some(value)) = (u32_at(at), f64_at(at + 4))
            && ts != 0
        {
            points.push((u64::from(ts), value));
        }
    }
    points.sort_by_key(|(ts, _)| *ts);
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whisper_points() {
        // One archive of 3 points at 1 s, two of them written.
        let mut file = Vec::new();
        for word in [1u32, 3, 0, 1] {
            file.extend_from_slice(&word.to_be_bytes());
        }
        for word in [28u32, 1, 3] {
            file.extend_from_slice(&word.to_be_bytes());
        }
        for (ts, v) in [(101u32, 2.5f64), (0, 0.0), (100, 1.0)] {
            file.extend_from_slice(&ts.to_be_bytes());
            file.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(whisper_points(&file), vec![(100, 1.0), (101, 2.5)]);
        assert!(whisper_points(&file[..10]).is_empty());
    }
}
