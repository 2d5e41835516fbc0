//! What each reading costs on this machine: the median CPU time (this thread's, user and
//! kernel) and wall time of every collector, taken round-robin so that a noisy neighbour
//! slows them all alike, and their sum: what one tick's readings cost before any plugin runs.
//!
//! Run: `cargo bench -p host-collectors --bench collectors`

use std::hint::black_box;
use std::time::{Duration, Instant};

use host_collectors::Source;

/// Rounds: enough for a stable median at ~2 ms a round.
const ROUNDS: usize = 200;

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

type Reading = (&'static str, fn(&Source));

/// Each collector by name, called with its result dropped.
macro_rules! readings {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |s: &Source| drop(black_box(host_collectors::$name(s))))),*]
    };
}

fn main() {
    let src = Source::live();
    let readings: &[Reading] = readings![
        system_info,
        cpu_info,
        cpu_stats,
        memory,
        swap,
        load,
        uptime,
        network,
        disk_io,
        filesystems,
        sensors,
        processes,
        irqs,
        raid,
        wifi,
        clock,
    ];
    let mut cpu = vec![Vec::with_capacity(ROUNDS); readings.len()];
    let mut wall = vec![Vec::with_capacity(ROUNDS); readings.len()];
    // One round first: caches (users, identities, open files) filled as after a first tick.
    for (_, read) in readings {
        read(&src);
    }
    for _ in 0..ROUNDS {
        for (i, (_, read)) in readings.iter().enumerate() {
            let (c, w) = (thread_cpu(), Instant::now());
            read(&src);
            wall[i].push(w.elapsed());
            cpu[i].push(thread_cpu().saturating_sub(c));
        }
    }
    println!("{:<14} {:>10} {:>10}", "reading", "cpu µs", "wall µs");
    let (mut total_cpu, mut total_wall) = (Duration::ZERO, Duration::ZERO);
    for (i, (name, _)) in readings.iter().enumerate() {
        let (c, w) = (median(cpu[i].clone()), median(wall[i].clone()));
        total_cpu += c;
        total_wall += w;
        println!(
            "{name:<14} {:>10.1} {:>10.1}",
            c.as_secs_f64() * 1e6,
            w.as_secs_f64() * 1e6
        );
    }
    println!(
        "{:<14} {:>10.1} {:>10.1}",
        "sum",
        total_cpu.as_secs_f64() * 1e6,
        total_wall.as_secs_f64() * 1e6
    );
}
