//! The community plugins' directory: `NAME.wasm` with its manifest `NAME.toml`, rescanned
//! every few seconds. A new or changed plugin is loaded and handshaked off the tick's thread,
//! beside any running version, and handed to the monitor only once it passed; a plugin whose
//! file is gone is unloaded. Every entry named `NAME.wasm`, of any type or size, is loaded or
//! refused with its reason; none is waited on (see `settings::file`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime};

use crate::plugins::engine::GlintEngine;
use crate::plugins::load::{self, LoadedPlugin, MAX_COMPONENT_BYTES, PluginFile};
use crate::plugins::readings::TickReadings;
use crate::settings::config::Config;
use crate::settings::manifest::Manifest;
use crate::stats::snapshot::PluginSource;

/// How often the directory is looked at (the and Weave Scope's 5 s): a dropped-in
/// plugin runs within seconds, and a scan (one `readdir` and two `stat`s a plugin) costs
/// nothing worth counting.
pub const RESCAN: Duration = Duration::from_secs(5);

/// What changed in the directory.
pub enum Change {
    /// A new or replaced plugin, loaded and handshaked: swapped in for any old version.
    Loaded {
        name: String,
        plugin: Box<LoadedPlugin>,
    },
    /// A plugin that could not be loaded; a running version of it keeps running.
    Refused {
        name: String,
        source: PluginSource,
        reason: String,
    },
    /// Its component is gone: unloaded.
    Removed { name: String },
    /// A large component that is not cached is being compiled (see
    /// `load::BACKGROUND_COMPILE_BYTES`): its status says so until it is loaded or refused.
    Compiling {
        name: String,
        source: PluginSource,
        bytes: usize,
    },
    /// A `--plugin` file compiled in the background at start (listed as compiling under its
    /// file's `label`): admitted as a start admits it, or refused.
    Compiled {
        label: String,
        source: PluginSource,
        result: Result<Box<LoadedPlugin>, String>,
    },
}

/// What a file looked like at the last scan: a change of any of it is a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// Symbolic links are followed, so a link's target being rebuilt is a new version; a link
/// that leads nowhere is stamped as itself, so it is refused with its reason, not ignored.
/// (`stat` never opens the entry: a FIFO or a device costs it nothing.)
fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)
        .or_else(|_| std::fs::symlink_metadata(path))
        .ok()?;
    Some(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        inode: m.ino(),
    })
}

/// The directory and what was in it at the last scan.
pub struct Discovery {
    dir: PathBuf,
    seen: BTreeMap<String, (Stamp, Option<Stamp>)>,
}

impl Discovery {
    pub fn new(dir: PathBuf) -> Discovery {
        Discovery {
            dir,
            seen: BTreeMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The plugins whose files appeared or changed since the last scan (to load), and those
    /// whose component is gone. A directory that does not exist (yet) holds no plugin.
    pub fn scan(&mut self) -> (Vec<String>, Vec<String>) {
        let mut now: BTreeMap<String, (Stamp, Option<Stamp>)> = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                if let Some(wasm) = stamp(&path) {
                    let manifest = stamp(&self.dir.join(format!("{name}.toml")));
                    now.insert(name.to_string(), (wasm, manifest));
                }
            }
        }
        let changed = now
            .iter()
            .filter(|(name, stamps)| self.seen.get(*name) != Some(stamps))
            .map(|(name, _)| name.clone())
            .collect();
        let removed = self
            .seen
            .keys()
            .filter(|name| !now.contains_key(*name))
            .cloned()
            .collect();
        self.seen = now;
        (changed, removed)
    }

    /// Reads plugin `name`'s component and manifest, unless the config disables it. One that
    /// is not a regular file of a sane size (a FIFO, a device, a socket, a directory, a link
    /// to one of those or to nothing, a huge file) is refused with what it is, unwaited on.
    ///
    /// Symbolic links are followed: installing by linking (stow, Nix, a build's output) is
    /// common, and whoever can put a link in the directory can put a file there, so refusing
    /// links would protect nothing. What a link leads to is judged as the entry itself is.
    pub fn read(&self, name: &str, config: &Config) -> Result<PluginFile, String> {
        if !config.enabled(name) {
            return Err(format!(
                "disabled by the config ([plugins.{name}] enable = false)"
            ));
        }
        let wasm = self.dir.join(format!("{name}.wasm"));
        let toml = self.dir.join(format!("{name}.toml"));
        let bytes =
            crate::settings::file::read_regular(&wasm, MAX_COMPONENT_BYTES, "a plugin component")
                .map_err(|e| e.to_string())?;
        // Any entry under the manifest's name is a manifest to read (and refuse if it is no
        // regular file): only a missing one is "no manifest".
        if std::fs::symlink_metadata(&toml).is_err() {
            return Err(format!(
                "{} has no manifest: write {} (kind, version, capabilities; `glint plugin new` makes one)",
                wasm.display(),
                toml.display()
            ));
        }
        let manifest = Manifest::load(&toml).map_err(|e| e.to_string())?;
        Ok(PluginFile {
            label: name.to_string(),
            sha256: crate::plugins::engine::digest(&bytes),
            bytes: Cow::Owned(bytes),
            source: PluginSource::Directory(wasm),
            manifest: Some(manifest),
        })
    }

    /// Forgets plugin `name` was seen: the watcher's next scan loads it (a large component
    /// left out of the start, to be compiled off the tick's thread).
    pub fn forget(&mut self, name: &str) {
        self.seen.remove(name);
    }

    /// Loads plugin `name` as a change for the monitor: loaded, or refused with the reason.
    /// `compiling` is told first when that means a long compile.
    pub fn load(
        &self,
        name: &str,
        engine: &GlintEngine,
        config: &Config,
        readings: &Arc<TickReadings>,
        compiling: &mut dyn FnMut(Change) -> bool,
    ) -> Change {
        let source = PluginSource::Directory(self.dir.join(format!("{name}.wasm")));
        let refused = |reason: String| Change::Refused {
            name: name.to_string(),
            source: source.clone(),
            reason,
        };
        let file = match self.read(name, config) {
            Ok(file) => file,
            Err(reason) => return refused(reason),
        };
        if file.compiles_slowly(engine) {
            compiling(Change::Compiling {
                name: name.to_string(),
                source: source.clone(),
                bytes: file.bytes.len(),
            });
        }
        match load::load(engine, &file, config, readings.clone()) {
            Ok(plugin) => Change::Loaded {
                name: name.to_string(),
                plugin: Box::new(plugin),
            },
            Err(e) => refused(e.to_string()),
        }
    }

    /// One scan's changes, loaded, each handed to `send` as soon as it is known (a plugin
    /// compiling for seconds is listed as such meanwhile). False once `send` is: the receiver
    /// is gone.
    pub fn changes(
        &mut self,
        engine: &GlintEngine,
        config: &Config,
        readings: &Arc<TickReadings>,
        send: &mut dyn FnMut(Change) -> bool,
    ) -> bool {
        let (changed, removed) = self.scan();
        for name in removed {
            if !send(Change::Removed { name }) {
                return false;
            }
        }
        for name in changed {
            let change = self.load(&name, engine, config, readings, send);
            if !send(change) {
                return false;
            }
        }
        true
    }

    /// Rescans every [`RESCAN`] on a thread of its own and sends what changed, until `stop`
    /// closes or the receiver goes away.
    pub fn watch(
        mut self,
        engine: Arc<GlintEngine>,
        config: Arc<Config>,
        readings: Arc<TickReadings>,
        tx: Sender<Change>,
        stop: Receiver<()>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("glint-discovery".into())
            .spawn(move || {
                loop {
                    match stop.recv_timeout(RESCAN) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let mut send = |change| tx.send(change).is_ok();
                    if !self.changes(&engine, &config, &readings, &mut send) {
                        return;
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_sees_new_changed_and_removed_components() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = Discovery::new(dir.path().join("plugins"));
        assert_eq!(d.scan(), (vec![], vec![]), "a missing directory is empty");
        std::fs::create_dir(d.dir()).expect("mkdir");
        std::fs::write(d.dir().join("a.wasm"), b"one").expect("write");
        std::fs::write(d.dir().join("notes.txt"), b"not a plugin").expect("write");
        assert_eq!(d.scan(), (vec!["a".to_string()], vec![]));
        assert_eq!(d.scan(), (vec![], vec![]), "nothing changed");
        // A manifest appearing is a change (the plugin may now load).
        std::fs::write(d.dir().join("a.toml"), b"kind = \"input\"").expect("write");
        assert_eq!(d.scan(), (vec!["a".to_string()], vec![]));
        // Replaced by rename, as an upgrade does: another inode.
        std::fs::write(d.dir().join(".a.new"), b"two").expect("write");
        std::fs::rename(d.dir().join(".a.new"), d.dir().join("a.wasm")).expect("rename");
        assert_eq!(d.scan(), (vec!["a".to_string()], vec![]));
        std::fs::remove_file(d.dir().join("a.wasm")).expect("rm");
        assert_eq!(d.scan(), (vec![], vec!["a".to_string()]));
    }

    #[test]
    fn a_component_without_a_manifest_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = Discovery::new(dir.path().to_path_buf());
        std::fs::write(dir.path().join("lonely.wasm"), b"\0asm").expect("write");
        let config = Config::defaults().expect("defaults");
        let e = d.read("lonely", &config).err().expect("refused");
        assert!(
            e.contains("has no manifest") && e.contains("lonely.toml"),
            "{e}"
        );
    }

    // Long for its cases: one directory holding every kind of entry, scanned once, each
    // checked in turn.
    #[test]
    fn every_entry_is_seen_and_refused_at_once_whatever_its_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |name: &str| dir.path().join(name);
        // Each with a manifest, so that its component is what gets read.
        for name in [
            "fifo",
            "zero",
            "socket",
            "dir",
            "sparse",
            "dangling",
            "pipe-manifest",
        ] {
            std::fs::write(
                at(&format!("{name}.toml")),
                "kind = \"input\"\nversion = \"1\"\n",
            )
            .expect("write");
        }
        let mkfifo = |path: std::path::PathBuf| {
            let made = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("mkfifo");
            assert!(made.success(), "mkfifo {}", path.display());
        };
        mkfifo(at("fifo.wasm"));
        std::os::unix::fs::symlink("/dev/zero", at("zero.wasm")).expect("symlink");
        let _socket = std::os::unix::net::UnixListener::bind(at("socket.wasm")).expect("bind");
        std::fs::create_dir(at("dir.wasm")).expect("mkdir");
        std::fs::File::create(at("sparse.wasm"))
            .and_then(|f| f.set_len(1 << 34))
            .expect("a 16 GiB sparse file");
        std::os::unix::fs::symlink(at("nowhere"), at("dangling.wasm")).expect("symlink");
        std::fs::write(at("pipe-manifest.wasm"), b"\0asm").expect("write");
        std::fs::remove_file(at("pipe-manifest.toml")).expect("rm");
        mkfifo(at("pipe-manifest.toml"));

        let mut discovery = Discovery::new(dir.path().to_path_buf());
        let (found, _) = discovery.scan();
        let names = [
            "dangling",
            "dir",
            "fifo",
            "pipe-manifest",
            "socket",
            "sparse",
            "zero",
        ];
        assert_eq!(found, names, "every entry is seen, a broken link too");
        let config = Config::defaults().expect("defaults");
        // On a thread, with a bound: without the checks, the FIFO blocks the read for ever
        // and /dev/zero never ends.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let refusals: Vec<String> = found
                .iter()
                .map(|name| discovery.read(name, &config).err().unwrap_or_default())
                .collect();
            let _ = tx.send(refusals);
        });
        let refusals = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the reads did not return within 10 s");
        assert_eq!(refusals.len(), names.len());
        let says = [
            (
                "dangling.wasm",
                "a symbolic link whose target cannot be read",
            ),
            ("dir.wasm", "a directory, not a regular file"),
            ("fifo.wasm", "a FIFO (named pipe), not a regular file"),
            (
                "pipe-manifest.toml",
                "a FIFO (named pipe), not a regular file",
            ),
            ("socket.wasm", "a Unix socket, not a regular file"),
            ("sparse.wasm", "16384 MiB is more than the 64 MiB"),
            ("zero.wasm", "a character device, not a regular file"),
        ];
        for (refusal, (file, what)) in refusals.iter().zip(says) {
            assert!(
                refusal.contains(file) && refusal.contains(what),
                "{file}: {refusal:?}"
            );
        }
    }
}
