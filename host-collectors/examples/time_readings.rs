//! Prints how long each reading takes on this machine (median of 50): where a tick's native
//! time goes. Run: `cargo run --release -p host-collectors --example time_readings`.

use std::time::{Duration, Instant};

use host_collectors as hc;

fn time<T>(name: &str, mut f: impl FnMut() -> T) {
    let mut v: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    v.sort();
    println!("{name:<16} {:>9.1} µs", v[25].as_secs_f64() * 1e6);
}

fn main() {
    let s = hc::Source::live();
    time("system_info", || hc::system_info(&s));
    time("cpu_info", || hc::cpu_info(&s));
    time("cpu_stats", || hc::cpu_stats(&s));
    time("memory", || hc::memory(&s));
    time("swap", || hc::swap(&s));
    time("load", || hc::load(&s));
    time("uptime", || hc::uptime(&s));
    time("network", || hc::network(&s));
    time("disk_io", || hc::disk_io(&s));
    time("filesystems", || hc::filesystems(&s));
    time("sensors", || hc::sensors(&s));
    time("processes", || hc::processes(&s));
    let list = hc::processes(&s).unwrap_or_default();
    time("process_totals", || hc::process_totals(&s, &list));
    time("irqs", || hc::irqs(&s));
    time("raid", || hc::raid(&s));
    time("wifi", || hc::wifi(&s));
    time("clock", || hc::clock(&s));
    time("all", || hc::collect_all(&s, &[]));
}
