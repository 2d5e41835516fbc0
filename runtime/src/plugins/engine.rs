//! The one wasmtime `Engine` (epoch interruption, pooling allocator), its epoch ticker, and
//! the on-disk cache of compiled components that makes a warm start compile nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::settings::limits::MAX_MEMORY_MB;

/// How often the epoch advances: the granularity of plugin deadlines. 10 ms keeps the
/// ticker's own cost negligible (100 wake-ups a second) while a 500 ms deadline is met
/// within 2 %.
pub const EPOCH_PERIOD: Duration = Duration::from_millis(10);

/// Plugin instances alive at once: ~22 default plugins, community plugins, and a replacement
/// instantiated beside each one while it is swapped. 128 slots cost only address space.
const MAX_INSTANCES: u32 = 128;

/// The wasmtime release compiled artefacts belong to: part of the cache key.
/// The file name ending of compiled components in the cache.
pub const CACHE_SUFFIX: &str = ".cwasm";

const WASMTIME_VERSION: &str = "wasmtime-48.0.8";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot configure the WebAssembly engine: {0}")]
    Config(String),
    #[error("{name}: not a valid WebAssembly component ({reason}); rebuild it for wasm32-wasip2")]
    Compile { name: String, reason: String },
}

/// The shared engine and the ticker that drives its epoch.
pub struct GlintEngine {
    pub engine: Engine,
    cache_dir: Option<PathBuf>,
    ticker: Arc<Ticker>,
}

/// The epoch ticker's state: it advances the epoch every period while guest code runs, and
/// sleeps otherwise (an idle monitor should not wake 100 times a second for nothing).
///
/// The count is an atomic, not under the mutex: twenty plugins start their calls at the same
/// moment each tick, and a lock there made them queue and sleep on each other. The mutex only
/// pairs with the condvar, taken when the ticker goes to sleep and when it must be woken.
#[derive(Default)]
struct Ticker {
    /// Guest calls in flight.
    active: AtomicUsize,
    sleeping: Mutex<()>,
    wake: Condvar,
    stop: AtomicBool,
}

impl Ticker {
    fn run(&self, engine: &Engine) {
        loop {
            {
                let mut guard = self.sleeping.lock().unwrap_or_else(|p| p.into_inner());
                // Checked under the lock that `busy` takes to notify: a call that starts
                // after the check waits for the lock until this thread is waiting.
                while self.active.load(Ordering::SeqCst) == 0 && !self.stop.load(Ordering::Relaxed)
                {
                    guard = self.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(EPOCH_PERIOD);
            engine.increment_epoch();
        }
    }
}

/// Guest code is running while this lives (see `GlintEngine::busy`).
pub struct Busy<'a> {
    ticker: &'a Ticker,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.ticker.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl GlintEngine {
    /// Builds the engine; `cache_dir` (if any) keeps compiled components between runs.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<GlintEngine, EngineError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        // Deadlines: a plugin that loops is interrupted at its epoch deadline.
        config.epoch_interruption(true);
        // Required by this trimmed feature set (no component-model-async); also halves the
        // cost of small calls.
        config.concurrency_support(false);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_INSTANCES);
        // A Rust wasip2 component has one core memory and a few shim instances.
        pool.total_memories(MAX_INSTANCES);
        pool.total_tables(MAX_INSTANCES * 2);
        pool.total_core_instances(MAX_INSTANCES * 8);
        pool.max_memory_size((MAX_MEMORY_MB as usize) << 20);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| EngineError::Config(format!("{e:#}")))?;

        let ticker = Arc::new(Ticker::default());
        let ticker_engine = engine.clone();
        let thread_ticker = ticker.clone();
        std::thread::Builder::new()
            .name("glint-epoch".into())
            .spawn(move || thread_ticker.run(&ticker_engine))
            .map_err(|e| EngineError::Config(format!("cannot start the epoch ticker: {e}")))?;
        Ok(GlintEngine {
            engine,
            cache_dir,
            ticker,
        })
    }

    /// Marks guest code as running until the guard drops: the epoch ticker runs only then.
    /// Every entry into a guest (instantiation, handshake, calls) holds one, or its
    /// deadline would never come.
    pub fn busy(&self) -> Busy<'_> {
        if self.ticker.active.fetch_add(1, Ordering::SeqCst) == 0 {
            let _sleeping = self
                .ticker
                .sleeping
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            self.ticker.wake.notify_one();
        }
        Busy {
            ticker: &self.ticker,
        }
    }

    /// The default cache directory: `$GLINT_CACHE_DIR`, else `$XDG_CACHE_HOME/glint/components`,
    /// else `~/.cache/glint/components`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("GLINT_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("glint").join("components"))
    }

    /// Compiles a component, or loads it from the cache when this exact component was
    /// compiled before by this wasmtime with this engine config.
    pub fn component(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
    ) -> Result<Component, EngineError> {
        let compile = || {
            Component::new(&self.engine, bytes).map_err(|e| EngineError::Compile {
                name: name.to_string(),
                reason: format!("{e:#}"),
            })
        };
        let Some(dir) = &self.cache_dir else {
            return compile();
        };
        let path = dir.join(format!("{}{CACHE_SUFFIX}", self.cache_key(sha256)));
        if let Some(component) = self.load_cached(&path) {
            return Ok(component);
        }
        let component = compile()?;
        if let Err(e) = store_cached(&path, &component) {
            tracing::debug!("not caching compiled {name} at {}: {e}", path.display());
            return Ok(component);
        }
        // Mapped from the entry just written, as a warm start would: the first run's code
        // pages are then file pages too, which `trim` can give back.
        Ok(self.load_cached(&path).unwrap_or(component))
    }

    /// Whether the compiled form of the component of this hash is in the cache (a load would
    /// map it, not compile it).
    pub fn is_cached(&self, sha256: &[u8; 32]) -> bool {
        self.cache_dir.as_ref().is_some_and(|dir| {
            dir.join(format!("{}{CACHE_SUFFIX}", self.cache_key(sha256)))
                .is_file()
        })
    }

    /// The component's hash + the wasmtime release + the engine's compatibility hash: a
    /// change of any of them is a different file, so a stale entry is never loaded.
    fn cache_key(&self, sha256: &[u8; 32]) -> String {
        use std::hash::{Hash, Hasher};
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let mut h = Sha256::new();
        h.update(sha256);
        h.update(WASMTIME_VERSION.as_bytes());
        h.update(engine_hash.finish().to_le_bytes());
        hex(&h.finalize())
    }

    /// A cached artefact is trusted only if its checksum (the file's last 32 bytes) matches:
    /// a truncated or corrupt entry is recompiled, never loaded. A good entry is mapped from
    /// the file rather than copied, so its code pages are the file's: `trim` can give back
    /// those only loading touched.
    fn load_cached(&self, path: &Path) -> Option<Component> {
        {
            // Checked, then dropped: the copy is freed before the file is mapped.
            let data = fs::read(path).ok()?;
            let (body, sum) = data.split_at_checked(data.len().checked_sub(32)?)?;
            if Sha256::digest(body).as_slice() != sum {
                tracing::warn!(
                    "corrupt compiled-plugin cache entry {}: recompiling",
                    path.display()
                );
                return None;
            }
        }
        // SAFETY: the file is glint's own artefact, checked just above; entries are written
        // whole to a temporary file and renamed into place, never rewritten in place, so the
        // mapped bytes are the checked ones.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(&self.engine, path) };
        component
            .map_err(|e| tracing::warn!("cannot load {}: {e:#}; recompiling", path.display()))
            .ok()
    }
}

impl Drop for GlintEngine {
    fn drop(&mut self) {
        // Under the lock, so the ticker cannot miss it between its check and its wait.
        let _sleeping = self
            .ticker
            .sleeping
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.ticker.stop.store(true, Ordering::Relaxed);
        self.ticker.wake.notify_one();
    }
}

/// Writes atomically (temp file + rename) so a reader never sees half a file.
fn store_cached(path: &Path, component: &Component) -> Result<(), String> {
    let dir = path.parent().ok_or("no parent directory")?;
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut data = component.serialize().map_err(|e| format!("{e:#}"))?;
    let sum = Sha256::digest(&data);
    data.extend_from_slice(&sum);
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), hex(&sum[..8])));
    fs::write(&tmp, &data).map_err(|e| e.to_string())?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        e.to_string()
    })
}

/// SHA-256 of component bytes: with the engine's identity, the cache key.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> Vec<u8> {
        let path = Path::new(crate::embedded::GUEST_DIR).join("glint_test_oldapi.wasm");
        fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn a_warm_start_loads_from_the_cache_and_a_corrupt_entry_is_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = GlintEngine::new(Some(dir.path().to_path_buf())).expect("engine");
        let bytes = guest();

        engine
            .component("t", &bytes, &digest(&bytes))
            .expect("cold compile");
        let files = entries(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        let written = fs::read(&files[0]).expect("cache entry");

        // Warm: loaded from the cache, the entry is left as it is.
        engine
            .component("t", &bytes, &digest(&bytes))
            .expect("warm load");
        assert_eq!(fs::read(&files[0]).expect("entry"), written);

        // Corrupt: one flipped byte fails the checksum; the entry is rebuilt, not trusted.
        let mut bad = written.clone();
        bad[100] ^= 0xff;
        fs::write(&files[0], &bad).expect("corrupt");
        assert!(engine.load_cached(&files[0]).is_none());
        engine
            .component("t", &bytes, &digest(&bytes))
            .expect("rebuilt");
        assert!(
            engine.load_cached(&files[0]).is_some(),
            "rebuilt entry loads"
        );

        // Truncated: likewise.
        fs::write(&files[0], &written[..10]).expect("truncate");
        assert!(engine.load_cached(&files[0]).is_none());
        engine
            .component("t", &bytes, &digest(&bytes))
            .expect("rebuilt");
        assert!(
            engine.load_cached(&files[0]).is_some(),
            "rebuilt entry loads"
        );
    }

    #[test]
    fn another_component_is_another_entry_and_junk_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = GlintEngine::new(Some(dir.path().to_path_buf())).expect("engine");
        let e = engine
            .component(
                "junk",
                b"\0asm, but truncated",
                &digest(b"\0asm, but truncated"),
            )
            .expect_err("junk is refused");
        let msg = e.to_string();
        assert!(
            msg.starts_with("junk: not a valid WebAssembly component"),
            "{msg}"
        );
        assert!(entries(dir.path()).is_empty(), "nothing cached for junk");
    }
}
