//! What the server's handlers share: the store, the event hub, the running plugins, the
//! credentials, and the rendered answers of the current snapshot.

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use axum::body::Bytes;

use crate::monitor::Registry;
use crate::settings::auth::Credentials;
use crate::stats::events::Hub;
use crate::stats::snapshot::Snapshot;
use crate::stats::store::Store;

/// What the server needs from the rest of glint.
pub struct Shared {
    pub store: Arc<Store>,
    pub hub: Hub,
    /// The plugins that run (input plugins known before their first tick); it changes as
    /// the plugins directory does.
    pub registry: Arc<Registry>,
    pub history_size: usize,
    pub credentials: Option<Credentials>,
    /// `-w`: `/` will serve the web UI (for now it says so).
    pub(super) webui: bool,
    /// Largest body an output plugin may answer, in bytes (`router` sets it from `Options`).
    pub(super) output_max_body: usize,
    /// Bytes of events held for one notification subscriber that does not read; past them it
    /// skips ahead and is told it lagged (`router` sets it from `Options`; until then, one
    /// event at a time).
    pub(super) subscriber_buffer: usize,
    /// Places for event subscribers (`/api/3/events`, `/api/3/ws`): each holds one while it
    /// is connected.
    pub(super) subscribers: Arc<tokio::sync::Semaphore>,
    cache: ArcSwap<Cache>,
}

impl Shared {
    pub fn new(
        store: Arc<Store>,
        hub: Hub,
        registry: Arc<Registry>,
        history_size: usize,
        credentials: Option<Credentials>,
    ) -> Shared {
        Shared {
            store,
            hub,
            registry,
            history_size,
            credentials,
            webui: false,
            output_max_body: usize::MAX,
            subscriber_buffer: 0,
            subscribers: Arc::new(tokio::sync::Semaphore::new(super::backlog::MAX_SUBSCRIBERS)),
            cache: ArcSwap::from_pointee(Cache::default()),
        }
    }

    /// The rendered answers of the current snapshot: each rendered once, on first request.
    pub(super) fn cache(&self, snapshot: &Arc<Snapshot>) -> Arc<Cache> {
        let current = self.cache.load_full();
        if current.seq == snapshot.seq && current.plugins.len() == snapshot.plugins.len() {
            return current;
        }
        let fresh = Arc::new(Cache {
            seq: snapshot.seq,
            all: Default::default(),
            plugins: (0..snapshot.plugins.len())
                .map(|_| Default::default())
                .collect(),
        });
        // Two requests racing here both render once; the later store wins. Harmless.
        self.cache.store(fresh.clone());
        fresh
    }
}

/// JSON bodies of one snapshot, `[with views, without views]`.
#[derive(Default)]
pub(super) struct Cache {
    pub(super) seq: u64,
    pub(super) all: [OnceLock<Bytes>; 2],
    /// By position in the snapshot.
    pub(super) plugins: Vec<[OnceLock<Bytes>; 2]>,
}
