#!/usr/bin/env bash
# bench/ab.sh - the same measurements for two glint binaries in one run, so a change can be
# judged against the machine's noise: bench/startup.sh, then bench/server.sh, for A then B,
# then both again in the other order (B then A), each table printed whole in turn.
#
# Run:   bench/ab.sh OLD_BIN NEW_BIN      (e.g. a build of the previous commit and this one)
# Env:   BENCH_IDLE_SECS (server.sh's idle phase, default here 30), COLD_RUNS, WARM_RUNS
# Exit:  0 when every run worked, 1 on an error.
set -euo pipefail

readonly SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 2 ]] || { echo "usage: bench/ab.sh OLD_BIN NEW_BIN" >&2; exit 1; }
readonly A="$1" B="$2"
for bin in "$A" "$B"; do
    [[ -x "$bin" ]] || { echo "bench/ab.sh: no executable $bin" >&2; exit 1; }
done
export BENCH_IDLE_SECS="${BENCH_IDLE_SECS:-30}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

run() { # label binary
    printf '\n===== %s: %s =====\n' "$1" "$2"
    local bench
    for bench in startup server; do
        # The table only; the progress lines go to a log, shown when a bench fails.
        if ! GLINT_BIN="$2" "$SCRIPT_DIR/$bench.sh" 2>"$log"; then
            tail -n 20 "$log" >&2
            echo "bench/ab.sh: bench/$bench.sh failed for $2" >&2
            exit 1
        fi
    done
}

# A B B A: a drift of the machine's load over the run weighs on both alike.
run "A (old), round 1" "$A"
run "B (new), round 1" "$B"
run "B (new), round 2" "$B"
run "A (old), round 2" "$A"
