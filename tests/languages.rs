//! Plugins in Python and JavaScript through the real binary: `glint plugin new --lang` makes
//! projects that build with their documented command, pass the check and run; the examples in
//! `languages/` report what the machine shows, and the Python exporter's stats arrive in a
//! real InfluxDB.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use glint_tests::Server;
use glint_tests::community::{RESCAN_WAIT, fresh_dir, install_file, serve_dir, wait_for};
use glint_tests::servers::{Influx, http_sink};
use glint_tests::toolchains::{
    build_javascript, build_python, language_dir, npm_tools, run_ok, shell_in,
};
use serde_json::Value;

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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `glint plugin check` of `wasm` with its manifest: glint would load it.
fn check_loads(tmp: &Path, wasm: &Path, manifest: &Path, name: &str) -> String {
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
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!("handshake: {name} ")), "{report}");
    assert!(report.contains("glint would load it."), "{report}");
    report
}

/// The version of the npm package `name` installed under target/npm.
fn npm_version(name: &str) -> String {
    let file = npm_tools().join(name).join("package.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    json["version"].as_str().unwrap_or_default().to_string()
}

/// `glint plugin new NAME --kind KIND --lang LANG`, built with the command glint prints (for
/// JavaScript, `npm run build` over the npm packages ./test installed: the tests reach no
/// registry), and checked; the component and its manifest go into the plugins directory.
fn scaffold(tmp: &Path, plugins: &Path, name: &str, kind: &str, lang: &str, grant: Option<u16>) {
    let dir = tmp.join(name);
    let out = run(
        tmp,
        &[
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--lang",
            lang,
            "--dir",
            &dir.display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let command = said
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in {said:?}"));
    let command = if lang == "javascript" {
        assert_eq!(command, "npm install && npm run build");
        let package = std::fs::read_to_string(dir.join("package.json")).unwrap_or_default();
        for tool in ["componentize-js", "preview2-shim"] {
            let pinned = format!(
                "\"@bytecodealliance/{tool}\": \"{}\"",
                npm_version(&format!("@bytecodealliance/{tool}"))
            );
            assert!(package.contains(&pinned), "{pinned} not in {package}");
        }
        std::os::unix::fs::symlink(npm_tools(), dir.join("node_modules"))
            .unwrap_or_else(|e| panic!("{e}"));
        "npm run build --silent"
    } else {
        command
    };
    run_ok(&format!("building {name}"), shell_in(&dir, command));
    let wasm = dir.join(format!("{name}.wasm"));
    let manifest_path = dir.join(format!("{name}.toml"));
    check_loads(tmp, &wasm, &manifest_path, name);
    let mut manifest = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    if let Some(port) = grant {
        // The exporter asks for its destination, which the config grants.
        manifest = manifest.replace(
            "# network = [{ destination = \"127.0.0.1:8086\"",
            &format!("network = [{{ destination = \"127.0.0.1:{port}\""),
        );
    }
    install_file(plugins, name, &wasm, &manifest);
}

#[test]
fn python_and_javascript_projects_build_with_their_command_check_and_run() {
    let tmp = tmp("languages-scaffold");
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
    let (sink, bodies) = http_sink();
    for lang in ["python", "javascript"] {
        let short = &lang[..2];
        scaffold(&tmp, &plugins, &format!("{short}-in"), "input", lang, None);
        scaffold(
            &tmp,
            &plugins,
            &format!("{short}-out"),
            "output",
            lang,
            None,
        );
        scaffold(
            &tmp,
            &plugins,
            &format!("{short}-ship"),
            "exporter",
            lang,
            Some(sink),
        );
    }

    let mut config = String::new();
    for short in ["py", "ja"] {
        config.push_str(&format!(
            "[plugins.{short}-ship]\nurl = \"http://127.0.0.1:{sink}/{short}\"\n\
             [plugins.{short}-ship.grant]\nnetwork = [\"127.0.0.1:{sink}\"]\n"
        ));
    }
    let server = serve_dir(BIN, &tmp, &config, &["--export", "py-ship,ja-ship"]);
    for short in ["py", "ja"] {
        // The input plugin's counter rate needs its second tick.
        let stats = wait_for(
            &format!("{short}-in reports a rate"),
            RESCAN_WAIT,
            &server,
            || {
                let (code, body) = server.get(&format!("/api/3/{short}-in"));
                (code == 200 && body["stats"][0]["ctx_switches_rate_per_sec"].is_number())
                    .then_some(body)
            },
        );
        let row = &stats["stats"][0];
        assert_eq!(row["greeting"], "hello", "{stats}");
        assert!(
            row["load_per_core"].as_f64().is_some_and(|v| v >= 0.0),
            "{stats}"
        );
        assert!(
            row["ctx_switches_gauge"].as_u64().is_some_and(|v| v > 0),
            "{stats}"
        );
        let (status, _, body) = server.get_with(&format!("/api/3/outputs/{short}-out/x"), &[]);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{body}");
        assert!(
            body.starts_with("path: /x\n") && body.contains("\ncpu 1\n"),
            "{body}"
        );
        let ship = wait_for(
            &format!("{short}-ship exports"),
            RESCAN_WAIT,
            &server,
            || {
                let (_, body) = server.get(&format!("/api/3/plugins/{short}-ship"));
                (body["export"]["sent"].as_u64().unwrap_or(0) >= 1).then_some(body)
            },
        );
        assert_eq!(ship["status"], "running", "{ship}");
    }
    // What the exporters sent is JSON of whole batches, from both languages.
    let bodies = bodies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(bodies.len() >= 2, "{bodies:?}");
    for body in &bodies {
        let documents: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let first = &documents[0];
        assert!(first["seq"].as_u64().is_some_and(|s| s >= 1), "{body}");
        assert!(first["stats"]["load"][0]["min1"].is_number(), "{body}");
    }
}

/// `--lang` names a language glint has no template for: clap says which it has.
#[test]
fn an_unknown_language_is_refused_naming_the_known_ones() {
    let tmp = tmp("languages-unknown");
    let out = run(&tmp, &["plugin", "new", "x", "--lang", "cobol"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("cobol") && said.contains("python") && said.contains("javascript"),
        "{said}"
    );
}

/// `glint plugin wit DIR`: the contract with the WASI packages its worlds use, which a
/// toolchain binds to as it is.
#[test]
fn plugin_wit_writes_a_contract_any_toolchain_binds_to() {
    let tmp = tmp("languages-wit");
    let wit = tmp.join("contract");
    let out = run(&tmp, &["plugin", "wit", &wit.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    for file in [
        "worlds.wit",
        "types.wit",
        "readings.wit",
        "deps/http/http.wit",
    ] {
        assert!(wit.join(file).is_file(), "{file}");
    }
    let bindings = tmp.join("bindings");
    run_ok(
        "componentize-py bindings of every world",
        shell_in(
            &tmp,
            &format!(
                "for w in input output exporter exporter-http; do \
                 componentize-py -d '{}' -w $w bindings '{}'/$w || exit 1; done",
                wit.display(),
                bindings.display()
            ),
        ),
    );
    assert!(
        bindings
            .join("exporter-http/wit_world/imports/outgoing_handler.py")
            .is_file()
    );
}

/// The first row of `plugin` in an /api/3/all answer whose `key` column is `value`.
fn row_of<'a>(all: &'a Value, plugin: &str, key: &str, value: &str) -> Option<&'a Value> {
    all[plugin]
        .as_array()?
        .iter()
        .find(|r| r[key].as_str() == Some(value))
}

#[test]
fn the_python_users_plugin_sums_the_processes_of_each_user() {
    let tmp = tmp("languages-users");
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
    let example = language_dir("python").join("examples/users");
    let build = tmp.join("users-build");
    glint_tests::toolchains::copy_files(&example, &build);
    let wasm = tmp.join("users.wasm");
    build_python(
        &build,
        &glint_tests::servers::repo_root().join("wit"),
        "input",
        "app",
        &wasm,
    );
    check_loads(&tmp, &wasm, &example.join("users.toml"), "users");
    let manifest = std::fs::read_to_string(example.join("users.toml")).unwrap_or_default();
    install_file(&plugins, "users", &wasm, &manifest);
    // A process of ours that burns a core: its user's CPU shows it.
    let mut spinner = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let me = String::from_utf8_lossy(
        &std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .stdout,
    )
    .trim()
    .to_string();
    let grant = "[plugins.users.grant]\nprocess_users = true\n";
    let server = serve_dir(BIN, &tmp, grant, &[]);
    // One snapshot: the users' rows and the process list of the same tick.
    let all = wait_for("users shows our CPU", RESCAN_WAIT, &server, || {
        let all = server.get("/api/3/all").1["stats"][0].clone();
        let cpu = row_of(&all, "users", "username", &me)?["cpu_percent"].as_f64()?;
        (cpu >= 30.0).then_some(all)
    });
    let _ = spinner.kill();
    let _ = spinner.wait();
    let mine = row_of(&all, "users", "username", &me).unwrap_or(&Value::Null);
    let listed: Vec<&Value> = all["processlist"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["username"].as_str() == Some(me.as_str()))
        .collect();
    assert_eq!(
        mine["processes"].as_u64(),
        Some(listed.len() as u64),
        "{mine}"
    );
    let rss: u64 = listed
        .iter()
        .filter_map(|p| p["memory_info"]["rss"].as_u64())
        .sum();
    assert_eq!(mine["memory_rss"].as_u64(), Some(rss), "{mine}");
    let total = all["mem"]["total"].as_f64().unwrap_or(0.0);
    let percent = mine["memory_percent"].as_f64().unwrap_or(-1.0);
    assert!(
        (percent - rss as f64 * 100.0 / total).abs() <= 0.06,
        "{mine} of {total}"
    );
    assert_eq!(
        all["users"][0]["username"], me,
        "the busiest user first: {}",
        all["users"]
    );
}

#[test]
fn the_javascript_glance_page_shows_the_stats_it_reads() {
    let tmp = tmp("languages-glance");
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
    let example = language_dir("javascript").join("examples/glance");
    let build = tmp.join("glance-build");
    glint_tests::toolchains::copy_files(&example, &build);
    let wasm = tmp.join("glance.wasm");
    let wit = glint_tests::servers::repo_root().join("wit");
    build_javascript(&build, &wit, "output", "plugin.js", &wasm);
    check_loads(&tmp, &wasm, &example.join("glance.toml"), "glance");
    let manifest = std::fs::read_to_string(example.join("glance.toml")).unwrap_or_default();
    install_file(&plugins, "glance", &wasm, &manifest);
    // One tick an hour: the page and the API read the same snapshot.
    let server = Server::start(
        BIN,
        &tmp,
        &[
            "-t",
            "3600",
            "--plugins-dir",
            &plugins.display().to_string(),
        ],
        None,
    );
    let cpu = wait_for("the first tick", RESCAN_WAIT, &server, || {
        server.get("/api/3/cpu/total").1["stats"][0]["total"].as_f64()
    });
    let (status, _, body) = server.get_with("/api/3/outputs/glance", &[]);
    let line = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 200, "{line}");
    let mem = server.get("/api/3/mem/percent").1["stats"][0]["percent"]
        .as_f64()
        .unwrap_or(-1.0);
    let load = server.get("/api/3/load").1["stats"][0].clone();
    let host = server.get("/api/3/system/hostname").1["stats"][0]["hostname"].clone();
    let expected = format!(
        "{} cpu {cpu:.1}% · mem {mem:.1}% · load {:.2} {:.2} {:.2}\n",
        host.as_str().unwrap_or_default(),
        load["min1"].as_f64().unwrap_or(-1.0),
        load["min5"].as_f64().unwrap_or(-1.0),
        load["min15"].as_f64().unwrap_or(-1.0),
    );
    assert_eq!(line, expected);
    let (status, headers, body) = server.get_with("/api/3/outputs/glance/html", &[]);
    let page = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{page}");
    assert!(format!("{headers:?}").contains("text/html"), "{headers:?}");
    assert!(
        page.contains(&format!("<th>cpu</th><td>{cpu:.1}%</td>")),
        "{page}"
    );
    let (status, _, _) = server.get_with("/api/3/outputs/glance/nope", &[]);
    assert_eq!(status, 404);
}

#[test]
fn the_python_exporter_ships_to_a_real_influxdb_under_its_grant() {
    let tmp = tmp("languages-influx");
    let influx = Influx::start(&tmp);
    influx.create_database("glint");
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
    let example = language_dir("python").join("examples/influx_lines");
    let build = tmp.join("influx-build");
    glint_tests::toolchains::copy_files(&example, &build);
    let wasm = tmp.join("influx_lines.wasm");
    let wit = glint_tests::servers::repo_root().join("wit");
    build_python(&build, &wit, "exporter-http", "app", &wasm);
    let manifest = format!(
        "{}\n[capabilities]\nnetwork = [{{ destination = \"127.0.0.1:{}\", reason = \"InfluxDB\" }}]\n",
        std::fs::read_to_string(example.join("influx_lines.toml")).unwrap_or_default(),
        influx.port
    );
    let manifest_path = tmp.join("influx_lines.toml");
    std::fs::write(&manifest_path, &manifest).unwrap_or_else(|e| panic!("{e}"));
    check_loads(&tmp, &wasm, &manifest_path, "influx_lines");
    install_file(&plugins, "influx_lines", &wasm, &manifest);
    let config = format!(
        "[plugins.influx_lines]\nurl = \"http://127.0.0.1:{0}\"\nplugins = [\"load\", \"mem\", \"system\"]\n\
         [plugins.influx_lines.grant]\nnetwork = [\"127.0.0.1:{0}\"]\n",
        influx.port
    );
    let server = serve_dir(BIN, &tmp, &config, &["--export", "influx_lines"]);
    let points = wait_for("load in InfluxDB", RESCAN_WAIT, &server, || {
        let points = influx.points("glint", "load");
        (!points.is_empty()).then_some(points)
    });
    let host = server.get("/api/3/system/hostname").1["stats"][0]["hostname"].clone();
    let cores = server.get("/api/3/load/cpucore").1["stats"][0]["cpucore"].clone();
    let total = server.get("/api/3/mem/total").1["stats"][0]["total"].clone();
    assert_eq!(points[0]["host"], host, "{points:?}");
    assert_eq!(points[0]["cpucore"], cores, "{points:?}");
    let mem = influx.points("glint", "mem");
    assert_eq!(
        mem.first().map(|p| p["total"].clone()),
        Some(total),
        "{mem:?}"
    );
    let status = server.get("/api/3/plugins/influx_lines").1;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["export"]["dropped"].as_u64(), Some(0), "{status}");
}
