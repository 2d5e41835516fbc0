#!/usr/bin/env bash
# bench/slow-readers.sh - measures what subscribers that never read cost glint's memory:
#   * glint's VmRSS idle (after one subscriber of every plugin came and went), then while
#     BENCH_SUBSCRIBERS clients hold /api/3/events open and never read (half ask for every
#     plugin's stats, half for processlist's), sampled every second for BENCH_SECS: peak and
#     last, against the target of twice the idle figure;
#   * that a subscriber reading at the same time got every tick and was never told it lagged,
#     and that one of the stuck ones, reading at last, is told how many events it missed;
#   * the bytes the kernel holds in the stuck connections' send queues (not glint's RSS, but
#     the machine's memory all the same);
# and prints them in a final table with PASS/FAIL.
#
# Run:   bench/slow-readers.sh                  (from anywhere; needs python3, curl)
# Env:   GLINT_BIN          binary to run        (default: <repo>/target/release/glint; build it
#                                                  first with `cargo build --release`)
#        BENCH_PORT         port to serve on     (default: 61251)
#        BENCH_SUBSCRIBERS  clients that never read (default: 100)
#        BENCH_SECS         how long they stay   (default: 30)
#        BENCH_REFRESH      glint's refresh, s   (default: 0.2: ten times the default rate, so
#                                                  30 s is 150 ticks to fall behind by)
#        BENCH_RCVBUF       the stuck clients' SO_RCVBUF, bytes (default: 4096: a client that
#                                                  takes little into its own kernel, so that what
#                                                  glint holds for it shows within the run)
# Exit:  0 when every measurement ran (whatever PASS/FAIL says), 1 on an error.
set -euo pipefail

readonly SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
readonly GLINT_BIN="${GLINT_BIN:-$REPO_ROOT/target/release/glint}"
readonly PORT="${BENCH_PORT:-61251}"
readonly SUBSCRIBERS="${BENCH_SUBSCRIBERS:-100}"
readonly SECS="${BENCH_SECS:-30}"
readonly REFRESH_SECS="${BENCH_REFRESH:-0.2}"
readonly RCVBUF="${BENCH_RCVBUF:-4096}"
readonly BASE="http://127.0.0.1:$PORT"
readonly TARGET_RATIO=2          # peak VmRSS / idle VmRSS, at most

readonly SCRIPT_NAME="bench/slow-readers.sh"
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- prerequisites
for tool in curl python3 awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
check_glint
[[ "$SUBSCRIBERS" =~ ^[0-9]+$ && "$SUBSCRIBERS" -ge 2 ]] || die "BENCH_SUBSCRIBERS must be a whole number >= 2"
[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -ge 1 ]] || die "BENCH_SECS must be a whole number of seconds >= 1"
[[ "$RCVBUF" =~ ^[0-9]+$ ]] || die "BENCH_RCVBUF must be a number of bytes"
FILES_LIMIT="$(ulimit -n)"
[[ "$FILES_LIMIT" == unlimited ]] || (( SUBSCRIBERS + 64 < FILES_LIMIT )) \
    || die "BENCH_SUBSCRIBERS=$SUBSCRIBERS needs more open files than ulimit -n ($FILES_LIMIT) allows"
check_port

start_tmp


# ---------------------------------------------------------------- start glint
read -r LOAD1 LOAD5 LOAD15 _ </proc/loadavg
log "load average at start: $LOAD1 $LOAD5 $LOAD15 ($(nproc) CPUs)"
# An empty config file: glint's built-in defaults (subscriber_buffer_kb among them).
: >"$TMP/empty.toml"
GLINT_LOG=warn "$GLINT_BIN" -C "$TMP/empty.toml" -s -B 127.0.0.1 -p "$PORT" -t "$REFRESH_SECS" \
    >"$TMP/glint.log" 2>&1 </dev/null &
GLINT_PID=$!
log "started $GLINT_BIN (pid $GLINT_PID) on $BASE, refresh ${REFRESH_SECS}s"
deadline=$(( SECONDS + 60 ))   # a cold start compiles the plugins
until curl -sf -o /dev/null -m 1 "$BASE/api/3/status"; do
    glint_alive || die "glint exited before answering /api/3/status"
    (( SECONDS < deadline )) || die "glint did not answer /api/3/status within 60 s"
    sleep 0.25
done

# ---------------------------------------------------------------- the clients
# One python process: the warm-up subscriber, the idle sample, the stuck subscribers, the
# reading one (a thread), the samples, then one stuck subscriber reading at last. It prints
# one line: idle_kb peak_kb last_kb live_ticks live_gaps live_lagged missed kernel_bytes.
cat >"$TMP/clients.py" <<'PY'
import json, socket, sys, threading, time, urllib.request
port, pid, n, secs, rcvbuf = (int(a) for a in sys.argv[1:6])

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    sys.exit("glint is gone")

def connect(path, small):
    s = socket.socket()
    if small and rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s

def events(s, until):
    """(name, json) of each SSE event read off a raw chunked connection, until `until`."""
    s.settimeout(5)
    buf, name = b"", None
    while time.time() < until:
        try:
            data = s.recv(1 << 20)
        except socket.timeout:
            continue
        if not data:
            return
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            line = line.rstrip(b"\r")
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                yield name, json.loads(line[6:])

def kernel_bytes():
    """Bytes queued to send on glint's side of its connections (/proc/net/tcp tx_queue)."""
    total = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                total += int(fields[4].split(":")[0], 16)
    return total

plugins = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/3/pluginslist", timeout=10))
every = "/api/3/events?plugins=" + ",".join(plugins)
warm = connect(every, False)
ticks = 0
for name, _ in events(warm, time.time() + 30):
    ticks += name == "tick"
    if ticks == 3:
        break
warm.close()
time.sleep(3)
idle = rss_kb()

live_result = {}
def live():
    s, seqs, lagged = connect(every, False), [], 0
    for name, event in events(s, time.time() + secs):
        if name == "tick":
            seqs.append(event["seq"])
        lagged += name == "lagged"
    live_result.update(seqs=seqs, lagged=lagged)
reader = threading.Thread(target=live)
reader.start()
stuck = [connect(every if i % 2 == 0 else "/api/3/events?plugins=processlist", True)
         for i in range(n)]
samples, start = [], time.time()
while time.time() - start < secs:
    samples.append(rss_kb())
    time.sleep(1)
samples.append(rss_kb())
kernel = kernel_bytes()
reader.join()
seqs = live_result.get("seqs", [])
gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1)
missed = -1
for name, event in events(stuck[1], time.time() + 60):
    if name == "lagged":
        missed = event["missed"]
        break
print(idle, max(samples), samples[-1], len(seqs), gaps, live_result.get("lagged", -1), missed, kernel)
PY
log "idle sample, then $SUBSCRIBERS subscribers that never read for ${SECS}s (SO_RCVBUF $RCVBUF)"
python3 "$TMP/clients.py" "$PORT" "$GLINT_PID" "$SUBSCRIBERS" "$SECS" "$RCVBUF" >"$TMP/clients.txt" &
HELPER_PID=$!
wait "$HELPER_PID" || die "the client script failed"
HELPER_PID=""
glint_alive || die "glint exited during the run"
read -r IDLE_KB PEAK_KB LAST_KB LIVE_TICKS LIVE_GAPS LIVE_LAGGED MISSED KERNEL_BYTES <"$TMP/clients.txt" \
    || die "no output from the client script"
HWM_KB="$(status_kb VmHWM)"
read -r LOAD1_END LOAD5_END LOAD15_END _ </proc/loadavg

# ---------------------------------------------------------------- table
RATIO="$(awk -v p="$PEAK_KB" -v i="$IDLE_KB" 'BEGIN { printf "%.2f", p / i }')"
verdict() { [[ "$1" == 1 ]] && echo PASS || echo FAIL; }
row() { printf '%-52s %-18s %-10s %s\n' "$@" | sed 's/[[:space:]]*$//'; }
echo
echo "glint slow-reader benchmark - $(date -u '+%Y-%m-%d %H:%M:%S UTC') - $(nproc) CPUs - $GLINT_BIN"
echo "load average at start: $LOAD1 $LOAD5 $LOAD15   at end: $LOAD1_END $LOAD5_END $LOAD15_END"
echo "refresh ${REFRESH_SECS}s; $SUBSCRIBERS subscribers that never read for ${SECS}s" \
    "(half every plugin, half processlist; SO_RCVBUF $RCVBUF)"
echo
row "Measure" "Value" "Target" "Result"
row "-------" "-----" "------" "------"
row "VmRSS idle" "$(kb_to_mb "$IDLE_KB") MB" "-" ""
row "VmRSS peak with the stuck subscribers" "$(kb_to_mb "$PEAK_KB") MB" "-" ""
row "VmRSS after ${SECS}s with them" "$(kb_to_mb "$LAST_KB") MB" "-" ""
row "peak / idle" "$RATIO" "<= $TARGET_RATIO" \
    "$(verdict "$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t) }')")"
row "VmHWM at the end" "$(kb_to_mb "$HWM_KB") MB" "-" ""
row "reading subscriber: ticks (gaps, lagged)" "$LIVE_TICKS ($LIVE_GAPS, $LIVE_LAGGED)" "0 gaps" \
    "$(verdict "$(( LIVE_GAPS == 0 && LIVE_LAGGED == 0 && LIVE_TICKS > 0 ))")"
row "stuck subscriber reading at last: missed" "$MISSED events" "> 0" "$(verdict "$(( MISSED > 0 ))")"
row "kernel send queues of glint's connections" "$(kb_to_mb "$(( KERNEL_BYTES / 1024 ))") MB" "-" \
    "(not RSS)"
echo "(MB = 1024 kB)"
