//! The community plugins' directory: `NAME.wasm` with its manifest `NAME.toml`, rescanned
//! every few seconds. A new or changed plugin is loaded and handshaked off the tick's thread,
//! beside any running version, and handed to the monitor only once it passed; a plugin whose
//! file is gone is unloaded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime};

use crate::plugins::engine::GlintEngine;
use crate::plugins::load::PluginFile;
use crate::plugins::load::{self, LoadedPlugin};
use crate::plugins::readings::TickReadings;
use crate::settings::config::Config;
use crate::settings::manifest::Manifest;
use crate::stats::snapshot::PluginSource;

/// How often the directory is looked at (the and Weave Scope's 5 s): a dropped-in
/// plugin runs within seconds, and a scan (one `readdir` and two `stat`s a plugin) costs
/// nothing worth counting.
pub const RESCAN: Duration = Duration::from_secs(5);

/// A component bigger than this is not a monitoring plugin: the default ones are ~70 KB,
/// and reading a huge file every rescan would cost the host.
const MAX_COMPONENT_BYTES: u64 = 64 << 20;

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
}

/// What a file looked like at the last scan: a change of any of it is a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
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

    /// Reads plugin `name`'s component and manifest, unless the config disables it.
    pub fn read(&self, name: &str, config: &Config) -> Result<PluginFile, String> {
        if !config.enabled(name) {
            return Err(format!(
                "disabled by the config ([plugins.{name}] enable = false)"
            ));
        }
        let wasm = self.dir.join(format!("{name}.wasm"));
        let toml = self.dir.join(format!("{name}.toml"));
        let len = std::fs::metadata(&wasm)
            .map_err(|e| format!("cannot read {}: {e}", wasm.display()))?
            .len();
        if len > MAX_COMPONENT_BYTES {
            return Err(format!(
                "{} is {} MiB, more than the {} MiB a plugin may be",
                wasm.display(),
                len >> 20,
                MAX_COMPONENT_BYTES >> 20
            ));
        }
        if !toml.is_file() {
            return Err(format!(
                "{} has no manifest: write {} (kind, version, capabilities; `glint plugin new` makes one)",
                wasm.display(),
                toml.display()
            ));
        }
        let manifest = Manifest::load(&toml).map_err(|e| e.to_string())?;
        let bytes =
            std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
        Ok(PluginFile {
            label: name.to_string(),
            sha256: crate::plugins::engine::digest(&bytes),
            bytes: Cow::Owned(bytes),
            source: PluginSource::Directory(wasm),
            manifest: Some(manifest),
        })
    }

    /// Loads plugin `name` as a change for the monitor: loaded, or refused with the reason.
    pub fn load(
        &self,
        name: &str,
        engine: &GlintEngine,
        config: &Config,
        readings: &Arc<TickReadings>,
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
        match load::load(engine, &file, config, readings.clone()) {
            Ok(plugin) => Change::Loaded {
                name: name.to_string(),
                plugin: Box::new(plugin),
            },
            Err(e) => refused(e.to_string()),
        }
    }

    /// One scan's changes, loaded.
    pub fn changes(
        &mut self,
        engine: &GlintEngine,
        config: &Config,
        readings: &Arc<TickReadings>,
    ) -> Vec<Change> {
        let (changed, removed) = self.scan();
        let mut out: Vec<Change> = removed
            .into_iter()
            .map(|name| Change::Removed { name })
            .collect();
        for name in changed {
            out.push(self.load(&name, engine, config, readings));
        }
        out
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
                    for change in self.changes(&engine, &config, &readings) {
                        if tx.send(change).is_err() {
                            return;
                        }
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
}
