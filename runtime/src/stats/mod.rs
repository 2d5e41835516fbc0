//! Stats: the snapshot each tick publishes, its history and decorations, how it is rendered to
//! JSON, the plugins' statuses, and the events made from both.
pub mod decorate;
pub mod events;
pub mod history;
pub mod render;
pub mod snapshot;
pub mod status;
pub mod store;

/// Now, in milliseconds since the Unix epoch (when an error happened, as the API shows it).
pub fn unix_millis_now() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}
