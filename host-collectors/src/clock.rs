//! `Clock`: the time now, with the local UTC offset and zone abbreviation.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::source::Source;

/// WIT `clock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub unix_nanos: u64,
    /// Local time offset from UTC, seconds.
    pub utc_offset: i32,
    /// Local time zone abbreviation (`UTC`, `CET`).
    pub timezone: String,
}

pub fn clock(src: &Source) -> Result<Clock, CollectError> {
    src.syscalls.clock()
}
