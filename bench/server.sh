#!/usr/bin/env bash
# bench/server.sh - measures glint's REST server (`glint -s`, Glances APIv3) on this machine:
#   * throughput (req/s) and wrk's average latency of /api/3/cpu and /api/3/all under
#     `wrk -t2 -c32 -d10s`, against an in-process baseline (/api/3/status, a constant tiny
#     JSON answer) measured in the same run, before and after, with the ratios;
#   * /api/3/all median and p99 latency over 200 sequential requests on one keep-alive connection;
#   * glint's CPU share (% of one core) and RSS (VmRSS, VmHWM) over 60 s while /api/3/all is
#     polled every 2 s at the default 2 s refresh;
#   * the load average at start (the machine is shared: read the figures against the baseline);
# and prints them in a final table with PASS/FAIL against the targets.
#
# Run:   bench/server.sh                        (from anywhere; needs wrk, curl, python3)
# Env:   GLINT_BIN        binary to run        (default: <repo>/target/release/glint; build it
#                                                first with `cargo build --release`)
#        BENCH_PORT       port to serve on     (default: 61250)
#        BENCH_IDLE_SECS  length of the idle CPU/RSS phase (default: 60; e.g. 20 for a quick run)
# Exit:  0 when every measurement ran (whatever PASS/FAIL says), 1 on an error, 2 when wrk is
#        missing.
set -euo pipefail

readonly SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
readonly GLINT_BIN="${GLINT_BIN:-$REPO_ROOT/target/release/glint}"
readonly PORT="${BENCH_PORT:-61250}"
readonly IDLE_SECS="${BENCH_IDLE_SECS:-60}"
readonly REFRESH_SECS=2          # glint's default refresh; passed explicitly with -t
readonly WRK_ARGS=(-t2 -c32 -d10s)
readonly SEQ_REQUESTS=200
readonly POLL_SECS=2
readonly BASE="http://127.0.0.1:$PORT"

# Targets.
readonly TARGET_CPU_RPS=20000    # /api/3/cpu req/s, at least
readonly TARGET_ALL_MEDIAN_MS=0.5 # /api/3/all sequential median, at most
readonly TARGET_CPU_PCT=0.2      # % of one core while polled every 2 s, at most
readonly TARGET_RSS_MB=20        # VmRSS, at most

readonly SCRIPT_NAME="bench/server.sh"
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- prerequisites
if ! command -v wrk >/dev/null 2>&1; then
    echo "bench/server.sh: wrk is not installed; install it with: apt-get install wrk" >&2
    exit 2
fi
for tool in curl python3 getconf awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
check_glint
"$GLINT_BIN" --help 2>/dev/null | grep -q -- '--server' \
    || die "$GLINT_BIN has no --server option: it is stale, rebuild it (cargo build --release)"
[[ "$IDLE_SECS" =~ ^[0-9]+$ && "$IDLE_SECS" -ge "$POLL_SECS" ]] \
    || die "BENCH_IDLE_SECS must be a whole number of seconds >= $POLL_SECS"
check_port

start_tmp

# Run a helper in the background (so the EXIT trap can stop it) and wait for it.
run_helper() {
    "$@" &
    HELPER_PID=$!
    local rc=0
    wait "$HELPER_PID" || rc=$?
    HELPER_PID=""
    return "$rc"
}

now() { date +%s.%N; }
# CPU time of every glint thread in nanoseconds: the first field of /proc/PID/task/*/schedstat is
# the scheduler's exact run time. (utime+stime of /proc/PID/stat are sampled at clock ticks: a
# process that runs in bursts of a fraction of a tick every 2 s is over- or under-counted by whole
# 10 ms ticks, too coarse for a 0.2 % target.) glint's threads live as long as the process.
cpu_ns() {
    local total=0 f ns _
    for f in /proc/"$GLINT_PID"/task/*/schedstat; do
        read -r ns _ < "$f" || continue
        total=$(( total + ns ))
    done
    echo "$total"
}
http_code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$BASE$1" || true; }

# ---------------------------------------------------------------- start glint
read -r LOAD1 LOAD5 LOAD15 _ </proc/loadavg
log "load average at start: $LOAD1 $LOAD5 $LOAD15 ($(nproc) CPUs)"

# An empty config file: glint's built-in defaults, whatever ~/.config/glint/glint.toml says.
: >"$TMP/empty.toml"
GLINT_LOG=warn "$GLINT_BIN" -C "$TMP/empty.toml" -s -B 127.0.0.1 -p "$PORT" -t "$REFRESH_SECS" \
    >"$TMP/glint.log" 2>&1 </dev/null &
GLINT_PID=$!
log "started $GLINT_BIN (pid $GLINT_PID) on $BASE"

deadline=$(( SECONDS + 60 ))   # a cold start compiles the plugins
until curl -sf -o /dev/null -m 1 "$BASE/api/3/status"; do
    glint_alive || die "glint exited before answering /api/3/status"
    (( SECONDS < deadline )) || die "glint did not answer /api/3/status within 60 s"
    sleep 0.25
done
log "/api/3/status answers after ${SECONDS}s; waiting 2 refreshes for /api/3/all to have data"
sleep $(( 2 * REFRESH_SECS + 1 ))
for route in /api/3/status /api/3/cpu /api/3/all; do
    code="$(http_code "$route")"
    [[ "$code" == 200 ]] || die "$route answered HTTP $code, not 200"
done
CPU_BYTES="$(curl -s -m 10 "$BASE/api/3/cpu" | wc -c)"
ALL_BYTES="$(curl -s -m 10 "$BASE/api/3/all" | wc -c)"
log "/api/3/cpu body: $CPU_BYTES bytes; /api/3/all body: $ALL_BYTES bytes"

# ---------------------------------------------------------------- phase 1: idle CPU and RSS
# First, on a fresh server, so VmRSS is the steady state of a monitor being polled rather than
# what the allocator kept after the wrk load; VmHWM is read again at the end for the peak.
# /api/3/all is fetched every 2 s (a new connection each time, as a simple client would); glint's
# run time (all threads, from schedstat) over the phase gives its CPU share, polls included.
log "phase 1: idle, ${IDLE_SECS}s, GET /api/3/all every ${POLL_SECS}s"
RSS_IDLE_START_KB="$(status_kb VmRSS)"
ns0="$(cpu_ns)"
t0="$(now)"
polls=0
poll_errors=0
while :; do
    elapsed="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"
    awk -v e="$elapsed" -v d="$IDLE_SECS" 'BEGIN { exit !(e < d) }' || break
    code="$(http_code /api/3/all)"
    polls=$(( polls + 1 ))
    [[ "$code" == 200 ]] || poll_errors=$(( poll_errors + 1 ))
    # Sleep to the next 2 s tick from t0, or to the end of the phase, whichever is first.
    pause="$(awk -v a="$t0" -v b="$(now)" -v p="$POLL_SECS" -v d="$IDLE_SECS" -v n="$polls" \
        'BEGIN { next_t = n * p; if (next_t > d) next_t = d; s = next_t - (b - a); print (s > 0 ? s : 0) }')"
    sleep "$pause"
done
ns1="$(cpu_ns)"
t1="$(now)"
glint_alive || die "glint exited during the idle phase"
IDLE_ELAPSED="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
IDLE_CPU_MS="$(awk -v n="$(( ns1 - ns0 ))" 'BEGIN { printf "%.1f", n / 1e6 }')"
CPU_PCT="$(awk -v n="$(( ns1 - ns0 ))" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%.3f", n / 1e9 / (b - a) * 100 }')"
RSS_IDLE_KB="$(status_kb VmRSS)"
HWM_IDLE_KB="$(status_kb VmHWM)"
log "  ${IDLE_CPU_MS} ms of CPU in ${IDLE_ELAPSED}s = ${CPU_PCT}% of a core; VmRSS $(kb_to_mb "$RSS_IDLE_KB") MB," \
    "VmHWM $(kb_to_mb "$HWM_IDLE_KB") MB; $polls polls, $poll_errors not 200"

# ---------------------------------------------------------------- phase 2: sequential latency
# Python's http.client on ONE persistent (keep-alive) connection, rather than one curl per request:
# curl would add a process start and a TCP connect to every sample, and its time_total measures
# the connect as much as glint; on one connection each sample is one request/response round trip
# (send, glint builds the answer, read the whole body). 10 unmeasured requests warm it up. The
# figures include python's own per-request cost (tens of µs), so they are an upper bound.
log "phase 2: $SEQ_REQUESTS sequential GET /api/3/all on one keep-alive connection"
# (The script goes through a file: a background job's stdin is /dev/null, not a here-document.)
cat >"$TMP/seq.py" <<'PY'
import http.client, math, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def get():
    conn.request("GET", "/api/3/all")
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"/api/3/all answered HTTP {r.status}")
    if r.getheader("connection", "").lower() == "close":
        sys.exit("the server closed the keep-alive connection")
    return len(body)
for _ in range(10):
    get()
samples = []
for _ in range(n):
    t = time.perf_counter()
    get()
    samples.append((time.perf_counter() - t) * 1000.0)
conn.close()
s = sorted(samples)
median = (s[(n - 1) // 2] + s[n // 2]) / 2
p99 = s[max(0, math.ceil(0.99 * n) - 1)]          # nearest rank
print(f"{median:.3f} {p99:.3f} {s[0]:.3f} {s[-1]:.3f}")
PY
run_helper python3 "$TMP/seq.py" "$PORT" "$SEQ_REQUESTS" >"$TMP/seq.txt" || die "the sequential latency client failed"
read -r SEQ_MEDIAN SEQ_P99 SEQ_MIN SEQ_MAX <"$TMP/seq.txt" || die "no output from the sequential latency client"
log "  median $SEQ_MEDIAN ms, p99 $SEQ_P99 ms (min $SEQ_MIN, max $SEQ_MAX)"

# ---------------------------------------------------------------- phase 3: wrk throughput
# Baseline /api/3/status is run before and after the two routes, and the ratios use its mean, so a
# drift of the shared machine's load during the phase shows up as a gap between the two runs.
# On 2 cores, wrk's 2 threads share the CPUs with glint: these are figures of the pair.
# WRK_<name>: "req/s avg_latency_ms non2xx socket_errors"
run_wrk() {   # name route
    local name="$1" route="$2" out="$TMP/wrk-$1.txt"
    log "phase 3: wrk ${WRK_ARGS[*]} $BASE$route"
    run_helper wrk "${WRK_ARGS[@]}" "$BASE$route" >"$out" 2>&1 || die "wrk failed on $route: $(tail -n 3 "$out")"
    local rps lat non2xx sockerr
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
    lat="$(awk '$1 == "Latency" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        if (f < 0) print "?"; else printf "%.3f", v * f; exit }' "$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
    sockerr="$(awk '/Socket errors:/ { sub(/.*Socket errors: */, ""); gsub(/ /, ""); print }' "$out")"
    [[ -n "$rps" ]] || die "no Requests/sec line in wrk's output for $route: $(cat "$out")"
    printf -v "WRK_$name" '%s %s %s %s' "$rps" "${lat:-?}" "${non2xx:-0}" "${sockerr:-none}"
    log "  $rps req/s, latency avg ${lat:-?} ms, non-2xx ${non2xx:-0}, socket errors ${sockerr:-none}"
    glint_alive || die "glint exited during wrk on $route"
}
run_wrk status1 /api/3/status
run_wrk cpu /api/3/cpu
run_wrk all /api/3/all
run_wrk status2 /api/3/status

RSS_END_KB="$(status_kb VmRSS)"
HWM_END_KB="$(status_kb VmHWM)"
read -r LOAD1_END LOAD5_END LOAD15_END _ </proc/loadavg

# ---------------------------------------------------------------- table
read -r S1_RPS S1_LAT S1_BAD S1_SOCK <<<"$WRK_status1"
read -r S2_RPS S2_LAT S2_BAD S2_SOCK <<<"$WRK_status2"
read -r C_RPS C_LAT C_BAD C_SOCK <<<"$WRK_cpu"
read -r A_RPS A_LAT A_BAD A_SOCK <<<"$WRK_all"
S_RPS="$(awk -v a="$S1_RPS" -v b="$S2_RPS" 'BEGIN { printf "%.2f", (a + b) / 2 }')"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
at_least() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t ? "PASS" : "FAIL") }'; }
at_most()  { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "PASS" : "FAIL") }'; }
fmt_rps() { awk -v v="$1" 'BEGIN { printf "%.0f req/s", v }'; }
errs() {   # non2xx socket_errors -> note
    local note=""
    [[ "$1" != 0 ]] && note+=" non-2xx:$1"
    [[ "$2" != none ]] && note+=" sock:$2"
    echo "${note# }"
}

RSS_IDLE_MB="$(kb_to_mb "$RSS_IDLE_KB")"
row() { printf '%-48s %-16s %-12s %s\n' "$@" | sed 's/[[:space:]]*$//'; }
echo
echo "glint server benchmark - $(date -u '+%Y-%m-%d %H:%M:%S UTC') - $(nproc) CPUs - $GLINT_BIN"
echo "load average at start: $LOAD1 $LOAD5 $LOAD15   at end: $LOAD1_END $LOAD5_END $LOAD15_END"
echo "wrk ${WRK_ARGS[*]}; refresh ${REFRESH_SECS}s; bodies: /api/3/cpu $CPU_BYTES B, /api/3/all $ALL_BYTES B"
echo
row "Measure" "Value" "Target" "Result"
row "-------" "-----" "------" "------"
row "/api/3/status req/s (baseline, before)" "$(fmt_rps "$S1_RPS")" "-" "$(errs "$S1_BAD" "$S1_SOCK")"
row "/api/3/status req/s (baseline, after)" "$(fmt_rps "$S2_RPS")" "-" "$(errs "$S2_BAD" "$S2_SOCK")"
row "/api/3/status latency avg (wrk, before/after)" "$S1_LAT/$S2_LAT ms" "-" ""
row "/api/3/cpu req/s" "$(fmt_rps "$C_RPS")" ">= $TARGET_CPU_RPS" \
    "$(at_least "$C_RPS" "$TARGET_CPU_RPS") $(errs "$C_BAD" "$C_SOCK")"
row "/api/3/cpu latency avg (wrk)" "$C_LAT ms" "-" ""
row "/api/3/cpu / status ratio" "$(ratio "$C_RPS" "$S_RPS")" "-" ""
row "/api/3/all req/s" "$(fmt_rps "$A_RPS")" "-" "$(errs "$A_BAD" "$A_SOCK")"
row "/api/3/all latency avg (wrk)" "$A_LAT ms" "-" ""
row "/api/3/all / status ratio" "$(ratio "$A_RPS" "$S_RPS")" "-" ""
row "/api/3/all sequential median ($SEQ_REQUESTS req)" "$SEQ_MEDIAN ms" "<= $TARGET_ALL_MEDIAN_MS ms" \
    "$(at_most "$SEQ_MEDIAN" "$TARGET_ALL_MEDIAN_MS")"
row "/api/3/all sequential p99" "$SEQ_P99 ms" "-" "(min $SEQ_MIN, max $SEQ_MAX)"
row "CPU, % of one core (${IDLE_ELAPSED}s, poll ${POLL_SECS}s)" "$CPU_PCT %" "<= $TARGET_CPU_PCT %" \
    "$(at_most "$CPU_PCT" "$TARGET_CPU_PCT") (${IDLE_CPU_MS} ms in ${IDLE_ELAPSED} s)"
row "VmRSS, end of idle phase" "$RSS_IDLE_MB MB" "<= $TARGET_RSS_MB MB" "$(at_most "$RSS_IDLE_MB" "$TARGET_RSS_MB")"
row "VmRSS, start of idle phase" "$(kb_to_mb "$RSS_IDLE_START_KB") MB" "-" ""
row "VmHWM, end of idle phase" "$(kb_to_mb "$HWM_IDLE_KB") MB" "-" ""
row "VmRSS / VmHWM after the wrk phase" "$(kb_to_mb "$RSS_END_KB")/$(kb_to_mb "$HWM_END_KB") MB" "-" ""
echo "(MB = 1024 kB; idle polls: $polls, not 200: $poll_errors)"
