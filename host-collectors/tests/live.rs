//! The live machine: every reading succeeds and says something plausible. Exact values are the
//! fixture tests' job; these catch what a fixture cannot (real /proc quirks, permissions).

use std::path::PathBuf;

use host_collectors::*;

#[test]
fn every_live_reading_succeeds() {
    let src = Source::live();

    let info = system_info(&src).expect("system_info");
    assert_eq!(info.os_name, "Linux");
    assert!(!info.os_version.is_empty());
    assert_eq!(info.arch, std::env::consts::ARCH);

    let cpu = cpu_info(&src).expect("cpu_info");
    assert!(cpu.logical_cores >= 1);
    assert!(cpu.physical_cores >= 1 && cpu.physical_cores <= cpu.logical_cores);

    let stats = cpu_stats(&src).expect("cpu_stats");
    assert_eq!(stats.per_cpu.len(), cpu.logical_cores as usize);
    assert!(stats.total.user + stats.total.system + stats.total.idle > 0.0);
    assert!(stats.ctx_switches > 0);

    let mem = memory(&src).expect("memory");
    assert!(mem.total > 0);
    assert!(mem.available <= mem.total && mem.used <= mem.total);

    swap(&src).expect("swap");
    load(&src).expect("load");
    let up = uptime(&src).expect("uptime");
    assert!(up.seconds > 0.0 && up.boot_time > 0);

    let nets = network(&src).expect("network");
    let lo = nets
        .iter()
        .find(|n| n.name == "lo")
        .expect("an lo interface");
    assert!(lo.is_up);
    assert!(
        lo.addresses.iter().any(|a| a.address == "127.0.0.1"),
        "{lo:?}"
    );

    disk_io(&src).expect("disk_io");
    filesystems(&src).expect("filesystems");
    sensors(&src).expect("sensors");

    let procs = processes(&src).expect("processes");
    let me = procs
        .iter()
        .find(|p| p.pid == std::process::id())
        .expect("this test process in the list");
    assert!(me.memory_rss > 0);
    assert!(me.create_time >= up.boot_time as f64);
    assert!(!me.cmdline.is_empty());
    assert!(process_totals(&src, &[]).expect("process_totals").pid_max > 0);

    assert!(!irqs(&src).expect("irqs").is_empty());
    raid(&src).expect("raid");
    wifi(&src).expect("wifi");
    let clock = clock(&src).expect("clock");
    assert!(clock.unix_nanos > 0);

    let here = folders(
        &src,
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")],
    );
    assert_eq!(here[0].errno, 0);
    assert!(here[0].size > 0);
}

#[test]
fn live_source_is_shared_across_threads() {
    let src = Source::live();
    std::thread::scope(|s| {
        let a = s.spawn(|| network(&src).map(|n| n.len()));
        let b = s.spawn(|| processes(&src).map(|p| p.len()));
        assert!(a.join().expect("thread").expect("network") > 0);
        assert!(b.join().expect("thread").expect("processes") > 0);
    });
}
