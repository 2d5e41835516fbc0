//! The terminal UI end to end: the real binary in a tmux pane (Debian package `tmux`), keys
//! sent and the pane read back: sorting, filtering, help, quitting with the terminal put back;
//! client mode against a server started here, through a disconnect and a reconnect; and the
//! refusal to draw when stdout is not a terminal.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use glint_tests::{Server, free_port, glint, run_with_limit};

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// How long the UI may take to show something: a cold start compiles every plugin (debug
/// build, loaded 2-core machine).
const START: Duration = Duration::from_secs(120);

/// A tmux server of the test's own (its own socket), with one pane running a command.
struct Pane {
    socket: PathBuf,
}

impl Pane {
    /// Runs `args` (the glint binary and its arguments) in a `width`x`height` pane. When the
    /// command ends the pane prints its exit status and whether the terminal is back in
    /// canonical mode, then waits to be read.
    fn start(name: &str, width: u16, height: u16, env: &[(&str, String)], args: &[&str]) -> Pane {
        let socket = tmp().join(format!("tmux-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let mut line = String::from("env");
        for (k, v) in env {
            line.push_str(&format!(" {k}={}", quote(v)));
        }
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        line.push_str("; echo GLINT-EXITED $?; stty -a | grep -o -- '-*icanon'; sleep 600");
        let pane = Pane { socket };
        let status = pane
            .tmux()
            .args(["new-session", "-d", "-s", "glint", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(line)
            .status()
            .unwrap_or_else(|e| panic!("cannot run tmux (Debian package `tmux`): {e}"));
        assert!(status.success(), "tmux new-session failed");
        pane
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    fn text(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "glint"])
            .output()
            .unwrap_or_else(|e| panic!("tmux capture-pane: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn format(&self, what: &str) -> String {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "glint", what])
            .output()
            .unwrap_or_else(|e| panic!("tmux display-message: {e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "glint"])
            .args(keys)
            .status()
            .unwrap_or_else(|e| panic!("tmux send-keys: {e}"));
        assert!(status.success());
    }

    /// Waits until the pane shows what `ok` accepts; the pane's text.
    fn wait_for(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let text = self.text();
            if ok(&text) {
                return text;
            }
            assert!(
                started.elapsed() < limit,
                "the pane never showed {what} within {limit:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The environment `glint()` gives the other tests (a cache of compiled plugins shared by
/// this file's tests, no user config), for a command run inside tmux.
fn env() -> Vec<(&'static str, String)> {
    let tmp = tmp();
    vec![
        (
            "GLINT_CACHE_DIR",
            tmp.join("component-cache").display().to_string(),
        ),
        ("GLINT_LOG", "error".into()),
        (
            "XDG_CONFIG_HOME",
            tmp.join("no-config").display().to_string(),
        ),
        ("TERM", "xterm-256color".into()),
    ]
}

/// The first process row under the process list's header.
fn top_process(text: &str) -> String {
    let mut lines = text.lines();
    lines
        .position(|l| l.contains("PID") && l.contains("Command"))
        .and_then(|_| lines.next())
        .unwrap_or_default()
        .to_string()
}

/// The cell of the top process's row under the header's `column` (every cell before the
/// command line is one word, so the words line up).
fn top_cell(text: &str, column: &str) -> Option<String> {
    let mut lines = text.lines();
    let header = lines.find(|l| l.contains("PID") && l.contains("Command"))?;
    let at = header.split_whitespace().position(|h| h == column)?;
    lines.next()?.split_whitespace().nth(at).map(str::to_string)
}

/// A child process that ends when dropped.
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn helper(program: &str, args: &[&str]) -> Helper {
    Helper(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}")),
    )
}

#[test]
fn the_ui_sorts_filters_shows_help_and_quits_leaving_the_terminal_as_it_was() {
    // A process that holds 400 MB (touched, so resident) and one with a name to filter on.
    let _hog = helper(
        "python3",
        &["-c", "import time\nx = b'x' * (400 << 20)\ntime.sleep(600)"],
    );
    let _sleeper = helper("sleep", &["31337"]);
    let pane = Pane::start("ui", 200, 50, &env(), &[BIN, "-t", "0.5"]);
    pane.wait_for("the process list", START, |t| t.contains("TASKS"));
    assert_eq!(
        pane.format("#{alternate_on}"),
        "1",
        "the UI is not on the alternate screen"
    );

    // `m`: sorted by memory, the 400 MB process first (once its memory shows).
    pane.keys(&["m"]);
    pane.wait_for("the memory hog on top", Duration::from_secs(20), |t| {
        t.contains("sorted by MEM") && top_process(t).contains("python3")
    });
    // `N`: by PID, init first: the list re-sorted.
    pane.keys(&["N"]);
    pane.wait_for("PID 1 on top", Duration::from_secs(10), |t| {
        t.contains("sorted by PID") && top_cell(t, "PID").as_deref() == Some("1")
    });

    // `/`: a filter narrows the list to the one matching process.
    pane.keys(&["/"]);
    pane.keys(&["-l", "31337"]);
    pane.keys(&["Enter"]);
    let text = pane.wait_for("the filtered list", Duration::from_secs(10), |t| {
        t.contains("(1 shown")
    });
    assert!(top_process(&text).contains("sleep 31337"), "{text}");
    // (The hog's command line, not its name: an alert's top processes may name it.)
    assert!(
        !text.contains("b'x'"),
        "the filter left other processes:\n{text}"
    );

    // `h`: the help, and `h` again closes it.
    pane.keys(&["h"]);
    let text = pane.wait_for("the help", Duration::from_secs(10), |t| {
        t.contains("glint keys")
    });
    assert!(text.contains("sort by MEM%"), "{text}");
    pane.keys(&["h"]);
    pane.wait_for("the help closed", Duration::from_secs(10), |t| {
        !t.contains("glint keys")
    });

    // `q`: exits 0; the main screen, the cursor and canonical (cooked) mode are back.
    pane.keys(&["q"]);
    let text = pane.wait_for("glint's exit", Duration::from_secs(10), |t| {
        t.contains("GLINT-EXITED") && t.contains("icanon")
    });
    assert!(text.contains("GLINT-EXITED 0"), "{text}");
    assert!(
        text.lines().any(|l| l.trim() == "icanon"),
        "the terminal was left in raw mode:\n{text}"
    );
    assert_eq!(
        pane.format("#{alternate_on}"),
        "0",
        "left on the alternate screen"
    );
    assert_eq!(
        pane.format("#{cursor_flag}"),
        "1",
        "the cursor was left hidden"
    );
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal_too() {
    let pane = Pane::start("ctrlc", 80, 24, &env(), &[BIN, "-t", "0.5"]);
    pane.wait_for("the UI", START, |t| t.contains("TASKS"));
    pane.keys(&["C-c"]);
    let text = pane.wait_for("glint's exit", Duration::from_secs(10), |t| {
        t.contains("GLINT-EXITED") && t.contains("icanon")
    });
    assert!(text.contains("GLINT-EXITED 0"), "{text}");
    assert!(text.lines().any(|l| l.trim() == "icanon"), "{text}");
    assert_eq!(pane.format("#{alternate_on}"), "0");
}

/// The clock line at the bottom of the screen (the server's `now`).
fn clock(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| l.contains(" UTC") || l.contains("h: help"))
        .map(|l| l.split("h: help").next().unwrap_or(l).trim().to_string())
}

#[test]
fn client_mode_shows_a_remote_server_and_reconnects_after_it_comes_back() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let serve = || {
        Server::start_on(
            port,
            BIN,
            &tmp(),
            &["-t", "0.5", "--password"],
            Some("s3cret\n"),
        )
    };
    // (Its history needs the password: the client's first screen shows it is up.)
    let server = serve();
    let pane = Pane::start(
        "client",
        120,
        40,
        &env(),
        &[BIN, "-c", &address, "--username", "glint", "--password"],
    );
    // The password prompt (the server wants basic auth).
    pane.wait_for("the password prompt", Duration::from_secs(30), |t| {
        t.contains("Password:")
    });
    pane.keys(&["-l", "s3cret"]);
    pane.keys(&["Enter"]);
    let first = pane.wait_for("the remote stats", Duration::from_secs(30), |t| {
        t.contains("TASKS") && clock(t).is_some()
    });
    assert!(!first.contains("Disconnected"), "{first}");
    // Redrawn on the server's ticks: the clock moves.
    let before = clock(&first);
    pane.wait_for("a later tick", Duration::from_secs(10), |t| {
        clock(t) != before
    });

    // The server goes away: the header says so, the last stats stay.
    drop(server);
    let text = pane.wait_for("the disconnect", Duration::from_secs(15), |t| {
        t.contains(&format!("Disconnected from {address}"))
    });
    assert!(text.contains("TASKS"), "the last stats were lost:\n{text}");

    // It comes back on the same port: the client reconnects by itself.
    let server = serve();
    let text = pane.wait_for("the reconnection", Duration::from_secs(30), |t| {
        !t.contains("Disconnected") && t.contains("TASKS")
    });
    let after = clock(&text);
    pane.wait_for(
        "ticks after the reconnection",
        Duration::from_secs(10),
        |t| clock(t) != after,
    );

    pane.keys(&["q"]);
    let text = pane.wait_for("glint's exit", Duration::from_secs(10), |t| {
        t.contains("GLINT-EXITED") && t.contains("icanon")
    });
    assert!(text.contains("GLINT-EXITED 0"), "{text}");
    drop(server);
}

#[test]
fn without_a_terminal_glint_says_which_mode_to_use_instead_of_drawing() {
    let (out, _) = run_with_limit(glint(BIN, &tmp()), Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for hint in ["not a terminal", "--stdout", "-s to serve", "-w for"] {
        assert!(stderr.contains(hint), "no {hint:?} in: {stderr}");
    }
    assert!(out.stdout.is_empty(), "drew on a pipe: {:?}", out.stdout);
}
