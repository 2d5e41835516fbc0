# bench/lib.sh - what the bench scripts that run `glint -s` share: their messages, the checks of
# the binary and of the port, a temporary directory, and the cleanup that stops glint (and a
# helper process) on any exit, showing glint's last log lines when the script failed.
# Sourced by a script that has set SCRIPT_NAME, REPO_ROOT, GLINT_BIN and PORT; it then calls
# `check_glint`, `check_port` and `start_tmp`, and sets GLINT_PID once glint runs.

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# The binary exists, and a warning when the sources are newer than it (the figures would be
# those of the old build).
check_glint() {
    [[ -x "$GLINT_BIN" ]] || die "no executable glint at $GLINT_BIN (run: cargo build --release, or set GLINT_BIN)"
    if [[ -d "$REPO_ROOT/runtime/src" ]] \
        && [[ -n "$(find "$REPO_ROOT/runtime/src" -name '*.rs' -newer "$GLINT_BIN" -print -quit)" ]]; then
        log "warning: sources in runtime/src are newer than $GLINT_BIN; the figures are for the old build"
    fi
}

# PORT is free on 127.0.0.1.
check_port() {
    python3 - "$PORT" <<'PY' || die "port $PORT is in use on 127.0.0.1; set BENCH_PORT to a free one"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
PY
}

# TMP, removed with glint and the helper stopped on any exit.
start_tmp() {
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/glint-bench.XXXXXX")"
    GLINT_PID=""
    HELPER_PID=""
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$HELPER_PID" ]] && kill -0 "$HELPER_PID" 2>/dev/null; then
        kill "$HELPER_PID" 2>/dev/null || true
        wait "$HELPER_PID" 2>/dev/null || true
    fi
    if [[ -n "$GLINT_PID" ]] && kill -0 "$GLINT_PID" 2>/dev/null; then
        kill "$GLINT_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$GLINT_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$GLINT_PID" 2>/dev/null || true
        wait "$GLINT_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -s "$TMP/glint.log" ]]; then
        echo "--- glint's log (last lines) ---" >&2
        tail -n 20 "$TMP/glint.log" >&2
    fi
    rm -rf "$TMP"
    exit "$status"
}

glint_alive() { kill -0 "$GLINT_PID" 2>/dev/null; }
# A field of glint's /proc/PID/status in kB (VmRSS, VmHWM), and kB as MB with one decimal.
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$GLINT_PID/status"; }
kb_to_mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
