//! `clock`: the time now, with the local UTC offset and zone abbreviation. The `Clock` record is
//! defined in `syscalls`, whose live and fixture implementations make it.

use crate::error::CollectError;
use crate::source::Source;
use crate::syscalls::Clock;

pub fn clock(src: &Source) -> Result<Clock, CollectError> {
    src.syscalls.clock()
}
