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

/// This process's open descriptors on /proc/PID files (other tests open files meanwhile).
fn open_fds(pid: u32) -> usize {
    let prefix = format!("/proc/{pid}/");
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with(&prefix))
            })
            .count()
    })
}

#[test]
fn files_kept_open_between_scans_read_fresh_and_close_when_the_process_exits() {
    let src = Source::live();
    // A process that changes its name (an exec) a moment after the first scan.
    let mut child = std::process::Command::new("sh")
        .args(["-c", "sleep 0.5; exec sleep 100"])
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let find = |src: &Source| {
        processes(src)
            .expect("scan")
            .into_iter()
            .find(|p| p.pid == pid)
    };
    assert_eq!(find(&src).map(|p| p.name), Some("sh".to_string()));
    let fds = open_fds(pid);
    assert!(fds >= 2, "stat and io of {pid} are not kept open ({fds})");
    std::thread::sleep(std::time::Duration::from_millis(900));
    // Read again through the files kept open: the kernel wrote them afresh.
    let after_exec = find(&src).expect("still running");
    assert_eq!(after_exec.name, "sleep");
    assert_eq!(after_exec.cmdline, ["sleep", "100"]);
    // Scanning again keeps no more descriptors than it did.
    for _ in 0..3 {
        find(&src);
    }
    assert_eq!(open_fds(pid), fds, "descriptors kept for {pid}");

    let _ = child.kill();
    let _ = child.wait();
    assert!(find(&src).is_none(), "an exited process was reported");
    assert_eq!(open_fds(pid), 0, "its kept files were not closed");
}
