//! CPU time arithmetic shared by the cpu, percpu and quicklook plugins.

use crate::readings::CpuTimes;
use crate::{percent, round1};

/// Each mode's share of the time elapsed between two readings, in percent (psutil's rule:
/// guest time is already counted in user/nice, iowait counts as idle in `total`).
pub fn percentages(old: Option<&CpuTimes>, new: &CpuTimes) -> CpuTimes {
    let zero = CpuTimes {
        user: 0.0,
        nice: 0.0,
        system: 0.0,
        idle: 0.0,
        iowait: 0.0,
        irq: 0.0,
        softirq: 0.0,
        steal: 0.0,
        guest: 0.0,
        guest_nice: 0.0,
    };
    let old = old.unwrap_or(&zero);
    let d = |a: f64, b: f64| (a - b).max(0.0);
    let mut delta = CpuTimes {
        user: d(new.user, old.user),
        nice: d(new.nice, old.nice),
        system: d(new.system, old.system),
        idle: d(new.idle, old.idle),
        iowait: d(new.iowait, old.iowait),
        irq: d(new.irq, old.irq),
        softirq: d(new.softirq, old.softirq),
        steal: d(new.steal, old.steal),
        guest: d(new.guest, old.guest),
        guest_nice: d(new.guest_nice, old.guest_nice),
    };
    let all = delta.user
        + delta.nice
        + delta.system
        + delta.idle
        + delta.iowait
        + delta.irq
        + delta.softirq
        + delta.steal;
    let p = |v: f64| percent(v, all);
    delta = CpuTimes {
        user: p(delta.user),
        nice: p(delta.nice),
        system: p(delta.system),
        idle: p(delta.idle),
        iowait: p(delta.iowait),
        irq: p(delta.irq),
        softirq: p(delta.softirq),
        steal: p(delta.steal),
        guest: p(delta.guest),
        guest_nice: p(delta.guest_nice),
    };
    delta
}

/// Busy share: everything but idle and iowait.
/// Summed (not `100 - idle`) so that no elapsed time gives 0 %, as psutil does.
pub fn total(p: &CpuTimes) -> f64 {
    round1((p.user + p.nice + p.system + p.irq + p.softirq + p.steal).clamp(0.0, 100.0))
}
