//! A machine that lacks nearly everything (`fixtures/empty`: only a minimal /proc/stat): every
//! reading is empty or default, none is an error.

use std::path::{Path, PathBuf};

use host_collectors::*;

fn src() -> Source {
    Source::fixture(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/empty"))
}

#[test]
fn missing_readings_are_empty_not_errors() {
    let src = src();
    assert_eq!(
        system_info(&src).expect("system_info"),
        SystemInfo::default()
    );
    assert_eq!(cpu_info(&src).expect("cpu_info"), CpuInfo::default());
    assert_eq!(memory(&src).expect("memory"), Memory::default());
    assert_eq!(swap(&src).expect("swap"), Swap::default());
    assert_eq!(load(&src).expect("load"), Load::default());
    assert_eq!(network(&src).expect("network"), []);
    assert_eq!(disk_io(&src).expect("disk_io"), []);
    assert_eq!(filesystems(&src).expect("filesystems"), []);
    assert_eq!(sensors(&src).expect("sensors"), []);
    assert_eq!(processes(&src).expect("processes"), []);
    assert_eq!(
        process_totals(&src, &[]).expect("process_totals"),
        ProcessTotals::default()
    );
    assert_eq!(irqs(&src).expect("irqs"), []);
    assert_eq!(raid(&src).expect("raid"), []);
    assert_eq!(wifi(&src).expect("wifi"), []);
    assert_eq!(clock(&src).expect("clock"), Clock::default());
}

#[test]
fn the_minimal_stat_still_reads() {
    let src = src();
    let stats = cpu_stats(&src).expect("cpu_stats");
    assert_eq!(stats.total.user, 1.0);
    assert!(stats.per_cpu.is_empty());
    assert_eq!(stats.ctx_switches, 3);
    assert_eq!(
        uptime(&src).expect("uptime"),
        Uptime {
            seconds: 0.0,
            boot_time: 1_700_000_000
        }
    );
}

#[test]
fn a_missing_folder_is_an_errno_not_an_error() {
    let found = folders(&src(), &[PathBuf::from("nothing-here")]);
    assert_eq!(found[0].size, 0);
    assert_ne!(found[0].errno, 0);
}

#[test]
fn nothing_at_all_is_also_fine() {
    let src = Source::fixture(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/absent"));
    assert_eq!(cpu_stats(&src).expect("cpu_stats"), CpuStats::default());
    assert_eq!(uptime(&src).expect("uptime"), Uptime::default());
    assert_eq!(processes(&src).expect("processes"), []);
}
