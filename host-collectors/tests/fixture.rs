//! Every reading of the recorded machine in `fixtures/linux`, asserted to the exact value the
//! recorded files imply (see `fixtures/README.md` for which files are real and which synthetic).

use std::path::{Path, PathBuf};

use host_collectors::*;

fn src() -> Source {
    Source::fixture(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linux"))
}

const KIB: u64 = 1024;
const PAGE: u64 = 4096;
/// `ticks_per_second` of the fixture.
const HZ: f64 = 100.0;
/// `btime` of fixtures/linux/proc/stat.
const BOOT: u64 = 1_795_318_597;

fn ticks(
    user: u64,
    nice: u64,
    system: u64,
    idle: u64,
    iowait: u64,
    softirq: u64,
    steal: u64,
) -> CpuTimes {
    let s = |t: u64| t as f64 / HZ;
    CpuTimes {
        user: s(user),
        nice: s(nice),
        system: s(system),
        idle: s(idle),
        iowait: s(iowait),
        irq: 0.0,
        softirq: s(softirq),
        steal: s(steal),
        guest: 0.0,
        guest_nice: 0.0,
    }
}

#[test]
fn system_info_is_exact() {
    assert_eq!(
        system_info(&src()).expect("system_info"),
        SystemInfo {
            hostname: "vm".into(),
            os_name: "Linux".into(),
            os_version: "6.18.44-fc-v769".into(),
            distro: "Debian GNU/Linux 12 (bookworm)".into(),
            arch: "x86_64".into(),
            platform: "64bit".into(),
        }
    );
}

#[test]
fn cpu_info_is_exact() {
    assert_eq!(
        cpu_info(&src()).expect("cpu_info"),
        CpuInfo {
            model: "AMD EPYC".into(),
            physical_cores: 2,
            logical_cores: 2,
            freq_current_mhz: 2445.406,
            freq_max_mhz: 3500.0,
        }
    );
}

#[test]
fn cpu_stats_are_exact() {
    assert_eq!(
        cpu_stats(&src()).expect("cpu_stats"),
        CpuStats {
            total: ticks(51429, 0, 6084, 132929, 243, 64, 211),
            per_cpu: vec![
                ticks(25319, 0, 2686, 67305, 54, 25, 107),
                ticks(26110, 0, 3398, 65624, 188, 39, 104),
            ],
            ctx_switches: 299_348,
            interrupts: 279_286,
            soft_interrupts: 127_589,
            syscalls: 0,
        }
    );
}

#[test]
fn memory_is_exact() {
    assert_eq!(
        memory(&src()).expect("memory"),
        Memory {
            total: 24_683_656 * KIB,
            available: 24_279_320 * KIB,
            // total - free - buffers - (Cached + SReclaimable)
            used: (24_683_656 - 23_607_008 - 8_144 - (851_688 + 83_940)) * KIB,
            free: 23_607_008 * KIB,
            active: 303_892 * KIB,
            inactive: 554_080 * KIB,
            buffers: 8_144 * KIB,
            cached: (851_688 + 83_940) * KIB,
            shared: 8_896 * KIB,
        }
    );
}

#[test]
fn swap_is_exact() {
    assert_eq!(
        swap(&src()).expect("swap"),
        Swap {
            total: 2_097_148 * KIB,
            used: (2_097_148 - 1_048_572) * KIB,
            free: 1_048_572 * KIB,
            sin: 1234 * PAGE,
            sout: 5678 * PAGE,
        }
    );
}

#[test]
fn load_and_uptime_are_exact() {
    assert_eq!(
        load(&src()).expect("load"),
        Load {
            min1: 0.16,
            min5: 0.86,
            min15: 0.56,
        }
    );
    assert_eq!(
        uptime(&src()).expect("uptime"),
        Uptime {
            seconds: 956.79,
            boot_time: BOOT,
        }
    );
}

#[test]
fn network_is_exact() {
    let v4 = |a: &str, p| NetAddress {
        family: AddressFamily::Ipv4,
        address: a.into(),
        prefix_len: p,
    };
    let v6 = |a: &str, p| NetAddress {
        family: AddressFamily::Ipv6,
        address: a.into(),
        prefix_len: p,
    };
    let idle = |name: &str| NetInterface {
        name: name.into(),
        is_up: false,
        mtu: 1500,
        ..NetInterface::default()
    };
    assert_eq!(
        network(&src()).expect("network"),
        [
            NetInterface {
                name: "eth0".into(),
                bytes_recv: 94_089_052,
                bytes_sent: 410_075,
                packets_recv: 5800,
                packets_sent: 4644,
                is_up: true,
                // The VM reports -1 (unknown).
                speed_mbps: 0,
                mtu: 1400,
                addresses: vec![
                    v4("192.0.2.2", 24),
                    v6("fd00::2", 64),
                    v6("fe80::fc:ff:fe00:1", 64),
                ],
                ..NetInterface::default()
            },
            idle("ifb0"),
            idle("ifb1"),
            NetInterface {
                name: "lo".into(),
                bytes_recv: 3245,
                bytes_sent: 3245,
                packets_recv: 30,
                packets_sent: 30,
                // operstate `unknown`, IFF_UP set.
                is_up: true,
                mtu: 65536,
                addresses: vec![v4("127.0.0.1", 8), v6("::1", 128)],
                ..NetInterface::default()
            },
        ]
    );
}

#[test]
fn disk_io_is_exact() {
    let disks = disk_io(&src()).expect("disk_io");
    let names: Vec<&str> = disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6", "loop7", "vda", "zram0"
        ]
    );
    assert_eq!(
        disks[8],
        DiskIo {
            name: "vda".into(),
            read_count: 15196,
            write_count: 3684,
            read_merged: 5222,
            write_merged: 27257,
            read_bytes: 2_752_050 * 512,
            write_bytes: 5_353_656 * 512,
            read_time: 11016,
            write_time: 28928,
            busy_time: 5156,
        }
    );
    assert_eq!(
        disks[9],
        DiskIo {
            name: "zram0".into(),
            ..DiskIo::default()
        }
    );
}

#[test]
fn filesystems_are_exact() {
    assert_eq!(
        filesystems(&src()).expect("filesystems"),
        [
            Filesystem {
                device: "/dev/vda".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                options: "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534".into(),
                size: 66_053_021 * 4096,
                used: (66_053_021 - 62_580_407) * 4096,
                free: 20_348_858 * 4096,
            },
            Filesystem {
                device: "/dev/vdb".into(),
                mount_point: "/mnt/data disk".into(),
                fs_type: "xfs".into(),
                options: "rw,noatime,attr2,inode64".into(),
                size: 1000 * 1024,
                used: 600 * 1024,
                free: 300 * 1024,
            },
        ]
    );
}

#[test]
fn sensors_are_exact() {
    let temp = |label: &str, value| Sensor {
        chip: "coretemp".into(),
        label: label.into(),
        kind: SensorKind::Temperature,
        value,
        warning: Some(80.0),
        critical: Some(100.0),
    };
    assert_eq!(
        sensors(&src()).expect("sensors"),
        [
            temp("Package id 0", 45.0),
            temp("Core 0", 43.5),
            Sensor {
                chip: "nct6775".into(),
                label: "fan1".into(),
                kind: SensorKind::Fan,
                value: 1200.0,
                warning: None,
                critical: None,
            },
            Sensor {
                chip: "BAT0".into(),
                label: "Battery".into(),
                kind: SensorKind::Battery,
                value: 73.0,
                warning: None,
                critical: None,
            },
        ]
    );
}

#[test]
fn processes_are_exact() {
    let procs = processes(&src()).expect("processes");
    let summary: Vec<(u32, &str, &str, &str)> = procs
        .iter()
        .map(|p| {
            (
                p.pid,
                p.name.as_str(),
                p.status.as_str(),
                p.username.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "process_api", "S", "root"),
            (2, "kthreadd", "S", "root"),
            (9, "kworker/0:0-events", "I", "root"),
            (14, "ksoftirqd/0", "S", "root"),
            // uid 4242 has no passwd entry: the uid as text.
            (8636, "sleep", "S", "4242"),
            (8638, "sleep", "Z", "4242"),
            (8703, "my (weird) app", "S", "cloudsdk"),
        ]
    );

    let init = &procs[0];
    assert_eq!(
        *init,
        Process {
            pid: 1,
            ppid: 0,
            name: "process_api".into(),
            cmdline: [
                "/process_api",
                "--firecracker-init",
                "--addr",
                "0.0.0.0:2024",
                "--max-ws-buffer-size",
                "32768",
                "--block-local-connections",
                "--log-vsock-port",
                "5002",
                "--control-vsock-port",
                "5001",
                "--listen-vsock-port",
                "2024",
                "--tcp-readiness-only",
                "--auth-required",
            ]
            .map(String::from)
            .to_vec(),
            username: "root".into(),
            status: "S".into(),
            nice: -10,
            num_threads: 11,
            cpu_user: 27.0 / HZ,
            cpu_system: 61.0 / HZ,
            cpu_children_user: 47174.0 / HZ,
            cpu_children_system: 4935.0 / HZ,
            cpu_iowait: 0.0,
            memory_rss: 2350 * PAGE,
            memory_vms: 8772 * PAGE,
            memory_shared: 1475 * PAGE,
            memory_text: 1334 * PAGE,
            memory_data: 6927 * PAGE,
            // No io file: recorded where /proc/1/io was unreadable even to root.
            io_read_bytes: None,
            io_write_bytes: None,
            create_time: BOOT as f64 + 14.0 / HZ,
            uid: 0,
            gid: 0,
            cpu_num: 1,
        }
    );

    let sleep = &procs[4];
    assert_eq!(sleep.cmdline, ["sleep", "100000"]);
    assert_eq!(sleep.cpu_iowait, 25.0 / HZ);
    assert_eq!(
        (sleep.io_read_bytes, sleep.io_write_bytes),
        (Some(28672), Some(4096))
    );
    assert_eq!((sleep.uid, sleep.gid), (4242, 4242));
    assert_eq!(sleep.create_time, BOOT as f64 + 94410.0 / HZ);
    assert_eq!(
        (sleep.memory_rss, sleep.memory_vms, sleep.memory_data),
        (436 * PAGE, 730 * PAGE, 89 * PAGE)
    );

    let zombie = &procs[5];
    assert_eq!(zombie.ppid, 8636);
    assert!(zombie.cmdline.is_empty());
    assert_eq!(zombie.memory_rss, 0);

    let weird = &procs[6];
    assert_eq!(
        weird.cmdline,
        [
            "./my (weird) app",
            "-c",
            "sleep 100000; echo \"hello world\""
        ]
    );
    assert_eq!((weird.uid, weird.gid, weird.cpu_num), (1000, 1000, 1));
    assert_eq!(
        (weird.io_read_bytes, weird.io_write_bytes),
        (Some(16384), Some(0))
    );
    assert_eq!(weird.memory_text, 193 * PAGE);
}

#[test]
fn process_totals_are_exact() {
    assert_eq!(
        process_totals(&src(), &processes(&src()).expect("processes")).expect("process_totals"),
        ProcessTotals {
            pid_max: 32768,
            total: 7,
            running: 0,
            sleeping: 5,
            idle: 1,
            disk_sleep: 0,
            zombie: 1,
            stopped: 0,
            threads: 17,
        }
    );
}

#[test]
fn irqs_are_exact() {
    let irqs = irqs(&src()).expect("irqs");
    assert_eq!(irqs.len(), 35);
    assert_eq!(
        irqs[0],
        Irq {
            name: "24".into(),
            description: "IO-APIC 5-edge ACPI:Ged".into(),
            count: 1,
        }
    );
    let find = |name: &str| irqs.iter().find(|i| i.name == name).expect(name);
    assert_eq!(find("LOC").count, 83283 + 89528);
    assert_eq!(find("LOC").description, "Local timer interrupts");
    assert_eq!(
        (find("ERR").count, find("ERR").description.as_str()),
        (0, "")
    );
    assert_eq!(find("PIW").description, "Posted-interrupt wakeup event");
}

#[test]
fn raid_is_exact() {
    assert_eq!(
        raid(&src()).expect("raid"),
        [
            RaidArray {
                name: "md1".into(),
                status: "active".into(),
                level: "raid1".into(),
                components: vec!["sdb1".into(), "sda1".into()],
                used: 2,
                available: 2,
                config: "UU".into(),
            },
            RaidArray {
                name: "md0".into(),
                status: "active".into(),
                level: "raid5".into(),
                components: vec!["sdd1".into(), "sdc1".into(), "sdb2".into()],
                used: 2,
                available: 3,
                config: "UU_".into(),
            },
        ]
    );
}

#[test]
fn wifi_is_exact() {
    assert_eq!(
        wifi(&src()).expect("wifi"),
        [Wifi {
            name: "wlan0".into(),
            quality_link: 54.0,
            quality_level: -56.0,
            noise: -256.0,
        }]
    );
}

#[test]
fn folders_are_exact() {
    let found = folders(
        &src(),
        &[
            PathBuf::from("folders/data"),
            PathBuf::from("folders/data/sub"),
            PathBuf::from("folders/absent"),
        ],
    );
    assert_eq!(
        found,
        [
            // a.txt (10) + sub/b.txt (100); link-to-etc is not followed.
            Folder {
                path: "folders/data".into(),
                size: 110,
                errno: 0
            },
            Folder {
                path: "folders/data/sub".into(),
                size: 100,
                errno: 0
            },
            Folder {
                path: "folders/absent".into(),
                size: 0,
                errno: 2
            },
        ]
    );
}

#[test]
fn clock_is_exact() {
    assert_eq!(
        clock(&src()).expect("clock"),
        Clock {
            unix_nanos: 1_795_319_565_587_546_780,
            utc_offset: 3600,
            timezone: "CET".into(),
        }
    );
}

#[test]
fn collect_all_gathers_every_reading() {
    let all = collect_all(&src(), &[PathBuf::from("folders/data")]);
    assert_eq!(all.memory.expect("memory").total, 24_683_656 * KIB);
    assert_eq!(all.processes.expect("processes").len(), 7);
    assert_eq!(all.raid.expect("raid").len(), 2);
    assert_eq!(all.folders[0].size, 110);
    assert_eq!(all.clock.expect("clock").timezone, "CET");
    assert!(all.system_info.is_ok() && all.cpu_info.is_ok() && all.cpu_stats.is_ok());
    assert!(all.swap.is_ok() && all.load.is_ok() && all.uptime.is_ok() && all.network.is_ok());
    assert!(all.disk_io.is_ok() && all.filesystems.is_ok() && all.sensors.is_ok());
    assert!(all.process_totals.is_ok() && all.irqs.is_ok() && all.wifi.is_ok());
}

#[test]
fn records_round_trip_through_serde() {
    let procs = processes(&src()).expect("processes");
    let json = serde_json::to_string(&procs).expect("serialize");
    let back: Vec<Process> = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, procs);
}
