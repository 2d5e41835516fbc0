//! Where a tick's time goes: per plugin, the median duration of its last call (guest time
//! plus the readings it was first to collect), and the tick's own median.
//! Run: `cargo run --release -p glint --example tick_profile [EXTRA_SLEEPING_PROCESSES]`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use glint::monitor::Monitor;
use glint::plugins::engine::GlintEngine;
use glint::settings::config::Config;
use host_collectors::Source;

/// Ticks measured: enough for stable medians on a noisy machine.
const ROUNDS: usize = 100;

fn main() {
    let extra: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let mut sleepers: Vec<std::process::Child> = (0..extra)
        .filter_map(|_| std::process::Command::new("sleep").arg("600").spawn().ok())
        .collect();
    let config = Config::defaults().expect("embedded defaults");
    let engine = GlintEngine::new(GlintEngine::default_cache_dir()).expect("engine");
    let (mut monitor, _) = Monitor::new(config, engine, Source::live(), Vec::new(), None);
    monitor.tick();
    monitor.tick();
    let n = monitor.actors().len();
    let mut calls: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut ticks = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        monitor.tick();
        ticks.push(t.elapsed());
        for (i, a) in monitor.actors().iter().enumerate() {
            calls[i].push(a.counters.last_call_micros.load(Ordering::Relaxed));
        }
    }
    ticks.sort();
    let mut rows: Vec<(u64, String)> = monitor
        .actors()
        .iter()
        .zip(calls)
        .map(|(a, mut c)| {
            c.sort();
            (c[c.len() / 2], a.meta.name.clone())
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (us, name) in rows {
        println!("{name:<14} {us:>6} µs");
    }
    let median: Duration = ticks[ticks.len() / 2];
    println!("tick median   {:>6} µs", median.as_micros());
    for s in &mut sleepers {
        let _ = s.kill();
        let _ = s.wait();
    }
}
