//! The sandbox is language-blind: hostile guests written in Python and JavaScript (under
//! `languages/*/hostile/`) are contained exactly as their Rust twins in `hostile.rs` are,
//! with the same statuses and the same words: reading /etc/passwd, reading the environment
//! and an HTTP request to a destination not granted are refused; an endless loop ends at its
//! deadline, unbounded allocation at its memory cap, an exception fails the call with its
//! message, and each of those three is quarantined.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use glint_tests::community::{fresh_dir, install_file, manifest, serve_dir, text, wait_for};
use glint_tests::http200::Http200;
use glint_tests::servers::repo_root;
use glint_tests::toolchains::{build_javascript, build_python, copy_tree, language_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

/// Each guest: (plugin name, its module, the status it must end in, words its last error
/// must hold).
const GUESTS: &[(&str, &str, &str, &str)] = &[
    ("spin", "spin", "quarantined", "deadline"),
    ("membomb", "membomb", "quarantined", "memory cap"),
    ("raise", "boom", "quarantined", "deliberate exception from"),
    ("snoop", "snoop", "running", ""),
];

#[test]
fn python_and_javascript_guests_are_contained_like_their_rust_twins() {
    let tmp = fresh_dir(env!("CARGO_TARGET_TMPDIR"), "hostile-languages");
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
    // The contract with the hostile world, which names the WASI imports the guests attack
    // through (glint runs it as any input plugin).
    let wit = tmp.join("wit");
    copy_tree(&repo_root().join("wit"), &wit);
    std::fs::copy(
        repo_root().join("languages/hostile/hostile.wit"),
        wit.join("hostile.wit"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (lang, short) in [("python", "py"), ("javascript", "js")] {
        let build = tmp.join(format!("{lang}-build"));
        glint_tests::toolchains::copy_files(&language_dir(lang).join("hostile"), &build);
        for (name, module, _, _) in GUESTS {
            let wasm = tmp.join(format!("{short}-{name}.wasm"));
            if lang == "python" {
                build_python(&build, &wit, "hostile-input", module, &wasm);
            } else {
                build_javascript(
                    &build,
                    &wit,
                    "hostile-input",
                    &format!("{module}.js"),
                    &wasm,
                );
            }
            install_file(
                &plugins,
                &format!("{short}-{name}"),
                &wasm,
                &manifest("0.1.0", ""),
            );
        }
    }
    // A destination the snoops are told to reach, and are not granted: nothing may get there.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let target = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let stop = Arc::new(AtomicBool::new(false));
    let forbidden = Http200::serve(listener, stop.clone());
    let config = format!(
        "[plugins.py-snoop]\ntarget = \"{target}\"\n[plugins.js-snoop]\ntarget = \"{target}\"\n"
    );
    let server = serve_dir(BIN, &tmp, &config, &[]);
    // glint serves and ticks at once: the guests compile in the background, listed as such.
    let first = server.get("/api/3/plugins/py-snoop").1;
    assert_eq!(first["status"], "compiling", "{first}");
    assert!(
        first["compiling_since_millis"].as_u64().is_some(),
        "{first}"
    );
    wait_for(
        "a tick while compiling",
        Duration::from_secs(10),
        &server,
        || server.get("/api/3/cpu/total").1["stats"][0]["total"].as_f64(),
    );
    // Eight components of 12-18 MB compile in the background (10-20 s each on 2 cores),
    // then each needs five failures to be quarantined.
    let statuses = wait_for(
        "every guest contained",
        Duration::from_secs(400),
        &server,
        || {
            let (_, all) = server.get("/api/3/plugins");
            let by_name: BTreeMap<String, Value> = all
                .as_array()?
                .iter()
                .map(|p| (text(&p["name"]), p.clone()))
                .collect();
            let ended = GUESTS.iter().all(|(name, _, end, _)| {
                ["py", "js"].iter().all(|short| {
                    by_name.get(&format!("{short}-{name}")).is_some_and(|s| {
                        s["status"] == *end
                            && (*end != "running" || s["refusals"].as_u64() > Some(0))
                    })
                })
            });
            ended.then_some(by_name)
        },
    );
    for short in ["py", "js"] {
        for (name, _, _, words) in GUESTS {
            let s = &statuses[&format!("{short}-{name}")];
            let error = text(&s["last_error"]);
            assert!(
                error.contains(words),
                "{short}-{name}: {error:?} lacks {words:?}: {s}"
            );
            // Compiled, not taken from a cache: seconds, which the status tells.
            assert!(s["compile_ms"].as_u64() > Some(500), "{short}-{name}: {s}");
        }
        let snoop = &statuses[&format!("{short}-snoop")];
        assert_eq!(
            text(&snoop["last_refusal"]),
            format!("HTTP request to {target} refused: not a granted destination"),
            "{snoop}"
        );
        let row = server.get(&format!("/api/3/{short}-snoop")).1["stats"][0].clone();
        assert_eq!(row["escaped"], false, "{row}");
        for attempt in ["passwd", "environ", "connect"] {
            assert!(
                text(&row[attempt]).starts_with("refused: "),
                "{attempt}: {row}"
            );
        }
        assert!(
            text(&row["connect"]).contains("not a granted destination"),
            "{row}"
        );
    }
    // The API kept answering while eight plugins compiled and failed.
    assert_eq!(server.get("/api/3/cpu").0, 200);
    stop.store(true, Ordering::Relaxed);
    let (connections, requests) = forbidden.finish();
    assert_eq!(
        connections, 0,
        "the forbidden destination was reached: {requests:?}"
    );
}
