//! The ways a plugin call or load fails, as the supervisor, the API and the log report them.

use std::time::Duration;

use crate::settings::limits::OUTPUT_QUEUE;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Engine(#[from] crate::plugins::engine::EngineError),
    #[error("{name}: not a plugin this glint can run: {reason}")]
    WrongWorld { name: String, reason: String },
    #[error(
        "{name}: built for plugin API version {found}, but this glint serves {supported:?}; rebuild the plugin against glint-sdk {sdk}"
    )]
    ApiVersion {
        name: String,
        found: u32,
        supported: &'static [u32],
        sdk: &'static str,
    },
    #[error("{name}: refused at handshake: {reason}")]
    Handshake { name: String, reason: String },
    #[error("{name}: {reason}")]
    Call { name: String, reason: String },
    /// The guest trapped (deadline, memory cap, panic...): its instance was replaced.
    #[error("{name}: {reason}")]
    Trapped { name: String, reason: String },
    #[error("{name}: plugin stopped")]
    Stopped { name: String },
    #[error("{name}: quarantined: {reason}")]
    Quarantined { name: String, reason: String },
    #[error("{name}: restarting after a failure, in {} ms", wait.as_millis())]
    Restarting { name: String, wait: Duration },
    #[error("{name}: throttled (over its CPU budget); sits out this tick")]
    Throttled { name: String },
    #[error("{name}: busy with {OUTPUT_QUEUE} waiting requests; try again")]
    Busy { name: String },
}

impl PluginError {
    /// A call the supervisor held back (restarting, quarantined, throttled): expected, not
    /// worth a warning each tick.
    pub fn is_held_back(&self) -> bool {
        matches!(
            self,
            PluginError::Quarantined { .. }
                | PluginError::Restarting { .. }
                | PluginError::Throttled { .. }
        )
    }
}
