//! Builds every guest plugin for wasm32-wasip2 and generates `embedded.rs`, which embeds the
//! default plugins in the binary so `glint` runs with no files beside it.
//!
//! The guests are built by an inner `cargo` with its own target directory: the outer cargo
//! holds the lock on the main one.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Guest crates whose directory name starts with this are test guests: built (the engine's
/// tests load them) but not embedded.
const TEST_PREFIX: &str = "test-";

fn main() {
    if let Err(message) = run() {
        // A build script reports failure by panicking; the message is what the user sees.
        #[allow(clippy::panic)]
        {
            panic!("{message}");
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir
        .parent()
        .ok_or("runtime/ has no parent directory")?
        .to_path_buf();
    let guests_dir = root.join("guest-plugins");
    let target_dir = root.join("target").join("guests");
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", guests_dir.display());

    let guests = guest_crates(&guests_dir)?;
    for (dir, _) in &guests {
        // Directories are watched by mtime only: watch each crate's sources too.
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        guests_dir.join("sdk").join("src").display()
    );

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, package) in &guests {
        cmd.args(["-p", package]);
    }
    // The outer cargo's settings must not leak into the inner one: clippy's wrapper, the host's
    // RUSTFLAGS, a coverage profile file, the outer target dir.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "LLVM_PROFILE_FILE",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo to build the guest plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the guest plugins for wasm32-wasip2 failed ({status}); is the wasm32-wasip2 \
             target installed? (`rustup target add wasm32-wasip2`)"
        ));
    }

    let out_wasm = target_dir.join("wasm32-wasip2").join("guest");
    let mut generated = String::from(
        "/// The default plugins, in display order.\n\
         pub static DEFAULT_PLUGINS: &[EmbeddedPlugin] = &[\n",
    );
    for (dir, package) in &guests {
        let name = dir_name(dir)?;
        if name.starts_with(TEST_PREFIX) {
            continue;
        }
        let wasm = out_wasm.join(format!("{}.wasm", package.replace('-', "_")));
        if !wasm.is_file() {
            return Err(format!(
                "guest {package} built but {} is missing",
                wasm.display()
            ));
        }
        let plugin = name.to_string();
        // Exporters say so in their Cargo.toml (`[package.metadata.glint] kind =
        // "exporter"`): embedded, they run only when named by `--export`.
        let cargo_toml = fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| format!("reading {}: {e}", dir.join("Cargo.toml").display()))?;
        let exporter = cargo_toml.contains("[package.metadata.glint]")
            && cargo_toml
                .lines()
                .any(|l| l.replace(' ', "") == "kind=\"exporter\"");
        // Hashed here so a warm start never reads the embedded bytes (the cache key needs
        // only the hash): they stay out of glint's resident memory.
        let bytes = fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
        let sha256: Vec<String> = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:#04x}"))
            .collect();
        writeln!(
            generated,
            "    EmbeddedPlugin {{ name: {plugin:?}, exporter: {exporter}, bytes: include_bytes!({:?}), sha256: [{}] }},",
            wasm.display().to_string(),
            sha256.join(", ")
        )
        .map_err(|e| e.to_string())?;
    }
    generated.push_str("];\n");
    writeln!(
        generated,
        "/// Where the built guests (default and test) are: tests load test guests from here.\n\
         pub const GUEST_DIR: &str = {:?};",
        out_wasm.display().to_string()
    )
    .map_err(|e| e.to_string())?;

    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?).join("embedded.rs");
    fs::write(&out, generated).map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(())
}

/// Every guest crate (directory with a Cargo.toml, except the sdk), sorted by display order:
/// the order of `DISPLAY_ORDER`, then the rest by name.
fn guest_crates(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut crates = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() || dir_name(&path)? == "sdk" {
            continue;
        }
        let text = fs::read_to_string(&manifest)
            .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
        let package = text
            .lines()
            .find_map(|line| {
                let rest = line.trim().strip_prefix("name")?.trim_start();
                let value = rest.strip_prefix('=')?.trim();
                Some(value.trim_matches('"').to_string())
            })
            .ok_or_else(|| format!("{} has no package name", manifest.display()))?;
        crates.push((path, package));
    }
    crates.sort_by_key(|(path, _)| {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let rank = DISPLAY_ORDER
            .iter()
            .position(|p| *p == name)
            .unwrap_or(DISPLAY_ORDER.len());
        (rank, name)
    });
    Ok(crates)
}

/// Glances' order of plugins in its UI and `/all`, roughly: header, summary, left column,
/// processes, alerts.
const DISPLAY_ORDER: &[&str] = &[
    "system",
    "uptime",
    "now",
    "ip",
    "quicklook",
    "core",
    "cpu",
    "percpu",
    "mem",
    "memswap",
    "load",
    "network",
    "wifi",
    "diskio",
    "fs",
    "folders",
    "raid",
    "sensors",
    "irq",
    "processcount",
    "processlist",
    "alert",
];

fn dir_name(path: &Path) -> Result<&str, String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} has no UTF-8 name", path.display()))
}
