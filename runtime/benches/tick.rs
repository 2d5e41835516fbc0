//! One full tick (every default plugin, in its sandbox) against the same readings collected
//! natively without WASM, at the machine's own process count and with 1,000 extra sleeping
//! processes. Prints criterion's figures, then an interleaved comparison and its ratio
//! (interleaved so that a noisy neighbour slows both sides alike).
//!
//! Run: `cargo bench -p glint --bench tick` (the interleaved figures are printed last).
//! Targets (issue 2): tick <= 1.3x native at
//! 1,000 extra processes; tick <= 5 ms at ~100 processes on a 2-core machine.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use glint::monitor::Monitor;
use glint::plugins::engine::GlintEngine;
use glint::settings::config::Config;
use host_collectors::{Source, collect_all};

/// Extra processes for the loaded case (the figure).
const EXTRA_PROCESSES: usize = 1000;
/// Rounds of the interleaved comparison: enough for a stable median on a noisy machine.
const ROUNDS: usize = 60;

/// Sleeping processes that are killed when dropped.
struct Sleepers(Vec<Child>);

impl Sleepers {
    fn spawn(n: usize) -> Sleepers {
        let children = (0..n)
            .filter_map(|_| {
                Command::new("sleep")
                    .arg("3600")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()
            })
            .collect::<Vec<_>>();
        assert_eq!(children.len(), n, "could not spawn {n} sleeping processes");
        Sleepers(children)
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn process_count() -> usize {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0)
}

/// CPU time of the whole process (every thread): a tick's cost, whichever worker ran it.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn monitor() -> Monitor {
    let config = Config::defaults().expect("embedded defaults");
    let engine = GlintEngine::new(GlintEngine::default_cache_dir()).expect("engine");
    let (mut monitor, refused) = Monitor::new(config, engine, Source::live(), Vec::new(), None);
    assert!(refused.is_empty(), "a default plugin was refused");
    // Prime: rates and per-process state exist from the second tick on.
    monitor.tick();
    monitor.tick();
    monitor
}

fn compare(label: &str, monitor: &mut Monitor, source: &Source) {
    let (mut native, mut tick) = (Vec::new(), Vec::new());
    let (mut native_cpu, mut tick_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (t, cpu) = (Instant::now(), process_cpu());
        black_box(collect_all(source, &[]));
        native.push(t.elapsed());
        native_cpu.push(process_cpu().saturating_sub(cpu));
        let (t, cpu) = (Instant::now(), process_cpu());
        black_box(monitor.tick());
        tick.push(t.elapsed());
        tick_cpu.push(process_cpu().saturating_sub(cpu));
    }
    let (n, t) = (median(native), median(tick));
    let (nc, tc) = (median(native_cpu), median(tick_cpu));
    println!(
        "{label}: {} processes: native collection {:.2} ms (CPU {:.2} ms), full tick {:.2} ms \
         (CPU {:.2} ms, all threads), ratio tick/native {:.2} (CPU {:.2})",
        process_count(),
        n.as_secs_f64() * 1e3,
        nc.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e3,
        tc.as_secs_f64() * 1e3,
        t.as_secs_f64() / n.as_secs_f64(),
        tc.as_secs_f64() / nc.as_secs_f64()
    );
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    let source = Source::live();
    let mut monitor = monitor();

    c.bench_function("native collection, own processes", |b| {
        b.iter(|| black_box(collect_all(&source, &[])))
    });
    c.bench_function("full tick, own processes", |b| {
        b.iter(|| black_box(monitor.tick()))
    });

    let sleepers = Sleepers::spawn(EXTRA_PROCESSES);
    monitor.tick();
    c.bench_function("native collection, +1000 processes", |b| {
        b.iter(|| black_box(collect_all(&source, &[])))
    });
    c.bench_function("full tick, +1000 processes", |b| {
        b.iter(|| black_box(monitor.tick()))
    });
    c.final_summary();

    drop(sleepers);
    monitor.tick();
    println!("\nInterleaved medians over {ROUNDS} rounds:");
    compare("own processes", &mut monitor, &source);
    // The "~100 processes" case: top the machine up to 100.
    let topped = Sleepers::spawn(100usize.saturating_sub(process_count()));
    monitor.tick();
    compare("~100 processes", &mut monitor, &source);
    drop(topped);
    let sleepers = Sleepers::spawn(EXTRA_PROCESSES);
    monitor.tick();
    compare("+1000 sleeping", &mut monitor, &source);
    drop(sleepers);
}
