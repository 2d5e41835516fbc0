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

fn main() {
    let src = Source::live();
    let readings: &[Reading] = &[
        ("system_info", |s| {
            drop(black_box(host_collectors::system_info(s)))
        }),
        ("cpu_info", |s| {
            drop(black_box(host_collectors::cpu_info(s)))
        }),
        ("cpu_stats", |s| {
            drop(black_box(host_collectors::cpu_stats(s)))
        }),
        ("memory", |s| drop(black_box(host_collectors::memory(s)))),
        ("swap", |s| drop(black_box(host_collectors::swap(s)))),
        ("load", |s| drop(black_box(host_collectors::load(s)))),
        ("uptime", |s| drop(black_box(host_collectors::uptime(s)))),
        ("network", |s| drop(black_box(host_collectors::network(s)))),
        ("disk_io", |s| drop(black_box(host_collectors::disk_io(s)))),
        ("filesystems", |s| {
            drop(black_box(host_collectors::filesystems(s)))
        }),
        ("sensors", |s| drop(black_box(host_collectors::sensors(s)))),
        ("processes", |s| {
            drop(black_box(host_collectors::processes(s)))
        }),
        ("irqs", |s| drop(black_box(host_collectors::irqs(s)))),
        ("raid", |s| drop(black_box(host_collectors::raid(s)))),
        ("wifi", |s| drop(black_box(host_collectors::wifi(s)))),
        ("clock", |s| drop(black_box(host_collectors::clock(s)))),
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
