#!/usr/bin/env bash
# bench/languages.sh - the same input plugin in Rust, Python and JavaScript (SpiderMonkey, and
# QuickJS), each run alone in `glint -s` beside the default plugins, in one run:
#
#   - call time p50 / p99: glint's own figures of the plugin's calls (/api/3/plugins/NAME), after
#     CALLS calls at -t 0.25;
#   - RSS added: glint's VmRSS with the plugin, minus glint's without it (same run, same ticks);
#   - instantiation: making the plugin's first instance (its language's runtime starting);
#   - compile, cold (an empty cache) and warm (mapped from the cache);
#
# then a warm start with one plugin of each language: µs from main() to the first complete tick
# (glint's log line), against glint with no plugin of its own, medians of RUNS runs.
#
# The plugin is `glint plugin new`'s input template of each language: the 1-minute load per
# core, a context-switch counter rate, and a greeting from its config.
#
# Run:   bench/languages.sh     (after `cargo build --release` and `./test`, which installs the
#                                toolchains into target/)
# Env:   GLINT_BIN (default: <repo>/target/release/glint)   BENCH_PORT (default 18790)
#        CALLS (default 60)   RUNS (default 5)
# Exit:  0 when every run worked (whatever PASS/FAIL says), 1 on an error.
set -euo pipefail

readonly SCRIPT_NAME="bench/languages.sh"
readonly SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
readonly GLINT_BIN="${GLINT_BIN:-$REPO_ROOT/target/release/glint}"
readonly PORT="${BENCH_PORT:-18790}"
readonly CALLS="${CALLS:-60}"
readonly RUNS="${RUNS:-5}"
# The issue's targets: a Python or JavaScript call, RSS a Python plugin adds, a warm start.
readonly TARGET_CALL_US=500
readonly TARGET_PY_RSS_MB=8
readonly TARGET_WARM_MS=300

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
check_glint
check_port
start_tmp

readonly PYPI="$REPO_ROOT/target/pypi"
readonly NPM="$REPO_ROOT/target/npm-plugins/node_modules"
[[ -x "$PYPI/bin/componentize-py" && -x "$NPM/.bin/componentize-js" ]] \
    || die "the plugin toolchains are missing: run ./test once (it installs them into target/)"
export PATH="$PYPI/bin:$NPM/.bin:$PATH" PYTHONPATH="$PYPI"

# --- the four components ----------------------------------------------------------------------
new() { "$GLINT_BIN" plugin new "$1" --lang "$2" --dir "$TMP/$1" >/dev/null; }
log "building the plugin in each language"
new bench-rs rust
(cd "$TMP/bench-rs" && cargo build -q --release --offline --target wasm32-wasip2 \
    --target-dir "$TMP/rs-target") || die "the Rust plugin does not build"
cp "$TMP/rs-target/wasm32-wasip2/release/bench_rs.wasm" "$TMP/bench-rs.wasm"
new bench-py python
(cd "$TMP/bench-py" && componentize-py -d wit -w input componentize app -o "$TMP/bench-py.wasm" >/dev/null)
new bench-js javascript
(cd "$TMP/bench-js" && ln -s "$NPM" node_modules && npm run build --silent >/dev/null \
    && mv bench-js.wasm "$TMP/")
new bench-qjs javascript
(cd "$TMP/bench-qjs" && componentize-qjs --wit wit --js plugin.js -n input --sync \
    -o "$TMP/bench-qjs.wasm" >/dev/null)
readonly PLUGINS=(bench-rs bench-py bench-js bench-qjs)

# --- one plugin at a time ---------------------------------------------------------------------
api() { curl -sf "http://127.0.0.1:$PORT$1"; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin).get('$1'); print('' if v is None else v)"; }

# Starts glint -s with ARGS..., waits until it answers.
serve() {
    env -u HOME XDG_CONFIG_HOME="$TMP/no-config" GLINT_LOG=warn \
        "$GLINT_BIN" -s --bind 127.0.0.1 -p "$PORT" -t 0.25 "$@" >"$TMP/glint.log" 2>&1 &
    GLINT_PID=$!
    for _ in $(seq 1 600); do
        api /api/3/status >/dev/null 2>&1 && return 0
        glint_alive || die "glint exited: $(tail -3 "$TMP/glint.log")"
        sleep 0.1
    done
    die "glint did not answer"
}
stop() { kill "$GLINT_PID" 2>/dev/null; wait "$GLINT_PID" 2>/dev/null || true; GLINT_PID=""; }

# Waits until plugin $1 made CALLS calls (0: only until it runs); prints its status.
wait_calls() {
    local want="$1" name="$2" status calls
    for _ in $(seq 1 1800); do
        status="$(api "/api/3/plugins/$name" 2>/dev/null || true)"
        if [[ -n "$status" && "$(field status <<<"$status")" == running ]]; then
            calls="$(field calls <<<"$status")"
            (( calls >= want )) && { echo "$status"; return 0; }
        fi
        sleep 0.1
    done
    die "$name never made $want calls: $status"
}

# glint alone, after as many ticks, on a warm cache as the plugins' runs are: the RSS the
# others are measured against (the first run fills the cache: compiling costs memory).
serve --cache-dir "$TMP/cache-alone"
wait_calls 0 cpu >/dev/null
stop
serve --cache-dir "$TMP/cache-alone"
wait_calls "$CALLS" cpu >/dev/null
base_kb="$(status_kb VmRSS)"
stop

declare -A row
for p in "${PLUGINS[@]}"; do
    log "$p: cold"
    serve --cache-dir "$TMP/cache-$p" --plugin "$TMP/$p.wasm"
    cold="$(wait_calls 0 "$p")"
    stop
    log "$p: warm"
    serve --cache-dir "$TMP/cache-$p" --plugin "$TMP/$p.wasm"
    warm="$(wait_calls "$CALLS" "$p")"
    rss_kb="$(status_kb VmRSS)"
    stop
    size_mb="$(awk -v b="$(stat -c %s "$TMP/$p.wasm")" 'BEGIN { printf "%.1f", b / 1e6 }')"
    row[$p]="$size_mb $(field p50_micros <<<"$warm") $(field p99_micros <<<"$warm") \
$(kb_to_mb "$(( rss_kb - base_kb ))") $(field instantiate_micros <<<"$warm") \
$(field compile_ms <<<"$cold") $(field compile_ms <<<"$warm")"
done

# --- a warm start with one plugin of each language --------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }
first_tick() { # CACHE ARGS...
    local cache="$1"
    shift
    env -u HOME XDG_CONFIG_HOME="$TMP/no-config" GLINT_LOG=glint=info \
        "$GLINT_BIN" --cache-dir "$cache" --stdout-json now --once -t 0.1 "$@" >/dev/null 2>"$TMP/start.log"
    sed -n 's/.*first complete tick \([0-9]*\) µs after start.*/\1/p' "$TMP/start.log" | head -1
}
all=()
for p in "${PLUGINS[@]}"; do all+=(--plugin "$TMP/$p.wasm"); done
first_tick "$TMP/cache-start" "${all[@]}" >/dev/null   # fills the cache
alone=(); with=()
for _ in $(seq "$RUNS"); do
    alone+=("$(first_tick "$TMP/cache-start")")
    with+=("$(first_tick "$TMP/cache-start" "${all[@]}")")
done
alone_us="$(printf '%s\n' "${alone[@]}" | median)"
with_us="$(printf '%s\n' "${with[@]}" | median)"

# --- the figures ------------------------------------------------------------------------------
echo
echo "glint $("$GLINT_BIN" --version | awk '{print $2}'), $CALLS calls each at -t 0.25; glint alone: $(kb_to_mb "$base_kb") MB RSS"
printf '%-10s %8s %9s %9s %9s %12s %12s %12s\n' plugin "size MB" "p50 µs" "p99 µs" "+RSS MB" \
    "instance µs" "cold ms" "warm ms"
for p in "${PLUGINS[@]}"; do
    # shellcheck disable=SC2086
    printf '%-10s %8s %9s %9s %9s %12s %12s %12s\n' "$p" ${row[$p]}
done
echo
echo "warm start to the first complete tick: alone $((alone_us / 1000)) ms, with the four $((with_us / 1000)) ms (medians of $RUNS)"
verdict() { if awk "BEGIN { exit !($2) }"; then echo "PASS  $1"; else echo "FAIL  $1"; fi; }
read -r _ py50 _ pyrss _ <<<"${row[bench-py]}"
read -r _ js50 _ _ <<<"${row[bench-js]}"
read -r _ qjs50 _ _ <<<"${row[bench-qjs]}"
verdict "Python call p50 $py50 µs <= $TARGET_CALL_US µs" "$py50 <= $TARGET_CALL_US"
verdict "JavaScript (SpiderMonkey) call p50 $js50 µs <= $TARGET_CALL_US µs" "$js50 <= $TARGET_CALL_US"
verdict "JavaScript (QuickJS) call p50 $qjs50 µs <= $TARGET_CALL_US µs" "$qjs50 <= $TARGET_CALL_US"
verdict "RSS a Python plugin adds $pyrss MB <= $TARGET_PY_RSS_MB MB" "$pyrss <= $TARGET_PY_RSS_MB"
verdict "warm start with the four $((with_us / 1000)) ms <= $TARGET_WARM_MS ms" "$with_us <= $TARGET_WARM_MS * 1000"
