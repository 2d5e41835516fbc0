//! `glint plugin new` and `glint plugin check` against the built binary: the crate it makes for
//! each kind builds for wasm32-wasip2 as it is, passes the check, and loads and runs in glint;
//! a file that is no component fails the check, saying why.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use glint_tests::Server;
use glint_tests::community::{RESCAN_WAIT, fresh_dir, install, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp(test: &str) -> PathBuf {
    fresh_dir(env!("CARGO_TARGET_TMPDIR"), test)
}

/// `glint ARGS...` with the test's cache, for up to 5 minutes.
fn run(tmp: &Path, args: &[&str]) -> Output {
    let mut cmd = glint_tests::glint(BIN, tmp);
    cmd.args(args);
    glint_tests::run_with_limit(cmd, Duration::from_secs(300)).0
}

/// Builds a scaffolded crate for wasm32-wasip2 with a target directory shared by the tests'
/// scaffolds (the SDK's dependencies compile once); returns the component.
fn build_scaffold(crate_dir: &Path, target: &Path, crate_name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--offline",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(target);
    // The outer cargo's settings are not the scaffold's (as runtime/build.rs does).
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        out.status.success(),
        "the scaffold of {crate_name} does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{crate_name}.wasm"))
}

#[test]
fn plugin_new_makes_crates_that_build_check_and_load_as_they_are() {
    let tmp = tmp("authoring");
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for (name, kind) in [("hello", "input"), ("page", "output"), ("ship", "exporter")] {
        scaffold_check_and_install(&tmp, &target, &dir, name, kind);
    }
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "0.5",
            "--plugins-dir",
            &dir.display().to_string(),
            "--export",
            "ship",
        ],
        None,
    );
    // The exporter runs as it is, named by --export: it gets batches and accepts them.
    let ship = wait_for("ship exports", RESCAN_WAIT, &server, || {
        let (_, body) = server.get("/api/3/plugins/ship");
        (body["export"]["sent"].as_u64().unwrap_or(0) >= 1).then_some(body)
    });
    assert_eq!(ship["status"], "running", "{ship}");
    assert_eq!(ship["kind"], "exporter", "{ship}");
    let hello = wait_for("hello reports", RESCAN_WAIT, &server, || {
        let (code, body) = server.get("/api/3/hello");
        (code == 200 && body["stats"][0]["greeting"] == "hello").then_some(body)
    });
    assert!(hello["stats"][0]["load_per_core"].is_number(), "{hello}");
    let (status, _, body) = server.get_with("/api/3/outputs/page/x", &[]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("path: /x\n") && body.contains("\ncpu "),
        "{body}"
    );

    // A component that is not one: the check says why, and exits 1.
    let junk = tmp.join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&tmp, &["plugin", "check", &junk.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("glint would refuse it: junk: not a valid WebAssembly component"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `glint plugin new NAME --kind KIND` in `tmp`; the crate built (in `target`) and checked as
/// it is; the component and its manifest installed in the plugins directory `dir`.
fn scaffold_check_and_install(tmp: &Path, target: &Path, dir: &Path, name: &str, kind: &str) {
    let crate_dir = tmp.join(name);
    let out = run(
        tmp,
        &[
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--dir",
            &crate_dir.display().to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = build_scaffold(&crate_dir, target, name);
    let manifest = crate_dir.join(format!("{name}.toml"));
    let out = run(
        tmp,
        &[
            "plugin",
            "check",
            &wasm.display().to_string(),
            "--manifest",
            &manifest.display().to_string(),
        ],
    );
    let report = String::from_utf8_lossy(&out.stdout);
    if kind == "exporter" {
        assert!(report.contains("exports:   describe, export"), "{report}");
    }
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!("handshake: {name} ")), "{report}");
    assert!(report.contains("glint would load it."), "{report}");
    install(
        dir,
        name,
        &std::fs::read(&wasm).unwrap_or_else(|e| panic!("{e}")),
        &std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{e}")),
    );
}
