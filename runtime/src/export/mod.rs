//! The export pipeline: for each exporter, a thread of its own that takes batches of the
//! published stats at the exporter's interval, keeps them in a bounded buffer (memory,
//! spilled to a directory when set, which it locks against any other) while the target is
//! down or slow, and sends them oldest
//! first through the exporter plugin, with backoff on retryable errors. The tick only hands
//! over a snapshot (a few `Arc` clones): a slow exporter never delays it or another exporter.
pub mod batch;
pub mod buffer;
pub mod lock;
pub mod settings;
pub mod spill;
pub mod worker;

pub use batch::{batch_of, hostname};
pub use lock::SpillDirInUse;
pub use settings::ExportSettings;
pub use worker::Exporter;
