//! The plugins directory against the running binary: a plugin dropped in is loaded, a bad
//! replacement is refused while the old version goes on, a good one is swapped in, a removed
//! one is unloaded; and an entry that is no regular file (a FIFO, a device, a socket...) is
//! refused without blocking anything.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use glint::embedded::GUEST_DIR;
use glint_tests::Server;
use glint_tests::community::{
    RESCAN_WAIT, fresh_dir, guest_bytes, install, manifest, status, text, wait_for,
};

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp(test: &str) -> PathBuf {
    fresh_dir(env!("CARGO_TARGET_TMPDIR"), test)
}

#[test]
fn plugins_dropped_in_are_loaded_replaced_and_removed_while_glint_runs() {
    let tmp = tmp("lifecycle");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = tmp.join("glint.toml");
    std::fs::write(
        &config,
        "[plugins.test-snoop.grant]\nprocess_cmdlines = true\nprocess_users = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "0.5",
            "-C",
            &config.display().to_string(),
            "--plugins-dir",
            &dir.display().to_string(),
        ],
        None,
    );
    let counter = guest_bytes(GUEST_DIR, "counter");

    // Added: loaded without a restart, with its manifest's version and its source.
    install(&dir, "test-counter", &counter, &manifest("1", ""));
    let first = wait_for("test-counter loaded", RESCAN_WAIT, &server, || {
        let (code, body) = server.get("/api/3/test-counter");
        (code == 200 && body["stats"][0]["n"].as_u64().is_some()).then_some(body)
    });
    assert_eq!(first["stats"][0]["version"], "1");
    let s = status(&server, "test-counter");
    assert_eq!(s["version"], "1", "{s}");
    assert_eq!(s["status"], "running", "{s}");
    assert!(
        text(&s["source"]).ends_with("plugins/test-counter.wasm"),
        "{s}"
    );

    // Replaced by a broken file: refused, the old version keeps running and says why.
    broken_replacement_is_refused(&server, &dir, &counter);

    // Replaced by a good version: handshaked and swapped in (a fresh instance counts anew).
    install(&dir, "test-counter", &counter, &manifest("2", ""));
    wait_for("version 2 swapped in", RESCAN_WAIT, &server, || {
        let s = status(&server, "test-counter");
        (s["version"] == "2" && !s["notes"].to_string().contains("refused")).then_some(())
    });

    // Granted the process readings: a community plugin sees command lines and users.
    granted_snoop_sees_processes(&server, &dir);

    // Removed: unloaded, gone from the list and the API.
    for ext in ["wasm", "toml"] {
        std::fs::remove_file(dir.join(format!("test-counter.{ext}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    wait_for("test-counter unloaded", RESCAN_WAIT, &server, || {
        let (_, list) = server.get("/api/3/pluginslist");
        (!list.to_string().contains("test-counter")).then_some(())
    });
    assert_eq!(server.get("/api/3/test-counter").0, 404);
    assert_eq!(server.get("/api/3/plugins/test-counter").0, 404);
    // The default plugins never stopped.
    assert!(server.get("/api/3/cpu").1["stats"][0]["total"].is_number());
}

/// Replaces test-counter (version 1, running) by half its component as version 2: refused,
/// and the old version keeps running and says why.
fn broken_replacement_is_refused(server: &Server, dir: &Path, counter: &[u8]) {
    install(
        dir,
        "test-counter",
        &counter[..counter.len() / 2],
        &manifest("2", ""),
    );
    let s = wait_for(
        "the broken replacement reported",
        RESCAN_WAIT,
        server,
        || {
            let s = status(server, "test-counter");
            s["notes"]
                .to_string()
                .contains("a new version was refused")
                .then_some(s)
        },
    );
    assert_eq!(s["version"], "1", "{s}");
    assert!(
        s["notes"]
            .to_string()
            .contains("not a valid WebAssembly component"),
        "{s}"
    );
    let n_before = server.get("/api/3/test-counter").1["stats"][0]["n"].as_u64();
    std::thread::sleep(Duration::from_secs(1));
    let n_after = server.get("/api/3/test-counter").1["stats"][0]["n"].as_u64();
    assert!(
        n_after > n_before,
        "the old version stopped: {n_before:?} -> {n_after:?}"
    );
}

/// Drops in test-snoop, granted (by the config) and asking for the process readings: it sees
/// command lines and users.
fn granted_snoop_sees_processes(server: &Server, dir: &Path) {
    install(
        dir,
        "test-snoop",
        &guest_bytes(GUEST_DIR, "snoop"),
        &manifest(
            "1",
            "[capabilities]\nprocess_cmdlines = { reason = \"test\" }\nprocess_users = { reason = \"test\" }\n",
        ),
    );
    let snoop = wait_for("test-snoop reports", RESCAN_WAIT, server, || {
        let (code, body) = server.get("/api/3/test-snoop");
        (code == 200 && body["stats"][0]["stats_processes"].as_u64() > Some(0))
            .then(|| body["stats"][0].clone())
    });
    for column in [
        "readings_cmdlines",
        "readings_users",
        "stats_cmdlines",
        "stats_users",
    ] {
        assert!(snoop[column].as_u64() > Some(0), "{column}: {snoop}");
    }
    let s = status(server, "test-snoop");
    assert_eq!(
        s["capabilities"],
        serde_json::json!(["process_cmdlines", "process_users"]),
        "{s}"
    );
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn no_entry_of_the_plugins_directory_blocks_glint_whatever_its_type() {
    let tmp = tmp("odd-entries");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let at = |name: &str| dir.join(name);
    let plain = manifest("1", "");
    // Each with a good manifest, so that its component is what gets read. The FIFO sorts
    // first: a glint that reads it waits for ever at start (and never gets to /dev/zero,
    // which it would read until memory ran out).
    let bad = [
        ("a-fifo.wasm", "a FIFO (named pipe), not a regular file"),
        ("b-zero.wasm", "a character device, not a regular file"),
        ("c-socket.wasm", "a Unix socket, not a regular file"),
        ("d-dir.wasm", "a directory, not a regular file"),
        ("e-sparse.wasm", "16384 MiB is more than the 64 MiB"),
        ("f-dangling.wasm", "a symbolic link whose target"),
        ("g-pipe-manifest.toml", "a FIFO (named pipe), not a"),
    ];
    let name_of = |file: &str| file.split('.').next().unwrap_or_default().to_string();
    for (file, _) in bad {
        let toml = at(&format!("{}.toml", name_of(file)));
        std::fs::write(toml, &plain).unwrap_or_else(|e| panic!("{e}"));
    }
    mkfifo(&at("a-fifo.wasm"));
    std::os::unix::fs::symlink("/dev/zero", at("b-zero.wasm")).unwrap_or_else(|e| panic!("{e}"));
    let _socket = std::os::unix::net::UnixListener::bind(at("c-socket.wasm"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(at("d-dir.wasm")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::File::create(at("e-sparse.wasm"))
        .and_then(|f| f.set_len(1 << 34))
        .unwrap_or_else(|e| panic!("a 16 GiB sparse file: {e}"));
    std::os::unix::fs::symlink(at("nowhere"), at("f-dangling.wasm"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A good component whose manifest is a FIFO.
    let counter = guest_bytes(GUEST_DIR, "counter");
    std::fs::write(at("g-pipe-manifest.wasm"), &counter).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(at("g-pipe-manifest.toml")).unwrap_or_else(|e| panic!("{e}"));
    mkfifo(&at("g-pipe-manifest.toml"));
    // Not named as a plugin: never looked at.
    mkfifo(&at("notes.fifo"));
    install(&dir, "test-counter", &counter, &plain);

    // Answers, and soon: the time from launch to the first answer is a start-up (a few
    // seconds compiling plugins in a debug build), not a wait on any entry.
    let plugins_dir = dir.display().to_string();
    let args = ["-t", "0.5", "--plugins-dir", plugins_dir.as_str()];
    let launched = Instant::now();
    let server = Server::start(BIN, &tmp, &args, None);
    assert_eq!(server.get("/api/3/status").0, 200);
    let took = launched.elapsed();
    assert!(took < Duration::from_secs(30), "the API took {took:?}");
    wait_for("test-counter to run", RESCAN_WAIT, &server, || {
        (status(&server, "test-counter")["status"] == "running").then_some(())
    });
    for (file, what) in bad {
        let s = status(&server, &name_of(file));
        let reason = text(&s["last_error"]);
        assert_eq!(s["status"], "refused", "{file}: {s}");
        assert!(
            reason.contains(file) && reason.contains(what),
            "{file}: {s}"
        );
    }

    // The rescans go on: a plugin dropped in after the start loads.
    install(&dir, "test-snoop", &guest_bytes(GUEST_DIR, "snoop"), &plain);
    wait_for("test-snoop dropped in to run", RESCAN_WAIT, &server, || {
        (status(&server, "test-snoop")["status"] == "running").then_some(())
    });
    assert!(server.get("/api/3/cpu").1["stats"][0]["total"].is_number());
    // Each refusal said once, at start: the rescans since did not repeat it.
    let stderr = server.stderr_text();
    for (file, _) in bad {
        let lines = stderr.lines().filter(|l| l.contains(file)).count();
        assert_eq!(lines, 1, "{file} logged {lines} times:\n{stderr}");
    }
    assert!(!stderr.contains("notes.fifo"), "{stderr}");
}
