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

/// The percentage columns the cpu and percpu plugins share, in Glances' order, described.
pub fn percent_fields() -> Vec<crate::FieldInfo> {
    use crate::{FieldInfoExt, Unit, field};
    let pct = |name: &str, desc: &str| field(name, Unit::Percent, desc);
    vec![
        pct("total", "Sum of all CPU percentages (except idle)."),
        pct("user", "Time spent in user space.").history(),
        pct("nice", "Time spent by niced processes in user space."),
        pct("system", "Time spent in kernel space.").history(),
        pct("idle", "Time spent doing nothing."),
        pct("iowait", "Time spent waiting for I/O to complete."),
        pct("irq", "Time spent servicing hardware interrupts."),
        pct("softirq", "Time spent servicing software interrupts."),
        pct("steal", "Time stolen by the hypervisor for other guests."),
        pct("guest", "Time spent running a virtual CPU for guests."),
        pct("guest_nice", "Time spent running niced guests."),
    ]
}

/// Appends the columns of [`percent_fields`] for the time between two readings.
pub fn push_percentages(row: &mut crate::table::Row, old: Option<&CpuTimes>, new: &CpuTimes) {
    let p = percentages(old, new);
    row.push("total", total(&p));
    row.push("user", p.user);
    row.push("nice", p.nice);
    row.push("system", p.system);
    row.push("idle", p.idle);
    row.push("iowait", p.iowait);
    row.push("irq", p.irq);
    row.push("softirq", p.softirq);
    row.push("steal", p.steal);
    row.push("guest", p.guest);
    row.push("guest_nice", p.guest_nice);
}
