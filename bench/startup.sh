#!/usr/bin/env bash
# bench/startup.sh - glint's start-up time to the first complete tick, with all default
# plugins, on a cold compiled-plugin cache (every plugin compiled) and a warm one (loaded
# from ~/.cache/glint/components' equivalent), against a baseline measured in the same run:
# `glint --version` (process start and exit, no plugin) timed the same way from outside.
#
# The tick time is glint's own log line "first complete tick N µs after start" (GLINT_LOG=info),
# measured from main(); the outside time of the same runs (launch to exit after `--once`) is
# printed beside it. Medians of COLD_RUNS and WARM_RUNS runs.
#
# Run:   bench/startup.sh          (after `cargo build --release`)
# Env:   GLINT_BIN   binary to run (default: <repo>/target/release/glint)
#        COLD_RUNS   (default 3)   WARM_RUNS (default 7)
# Exit:  0 when every run worked (whatever PASS/FAIL says), 1 on an error.
set -euo pipefail

readonly SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
readonly GLINT_BIN="${GLINT_BIN:-$REPO_ROOT/target/release/glint}"
readonly COLD_RUNS="${COLD_RUNS:-3}"
readonly WARM_RUNS="${WARM_RUNS:-7}"
readonly TARGET_WARM_MS=150

[[ -x "$GLINT_BIN" ]] || { echo "no $GLINT_BIN: run cargo build --release first" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now_ns() { date +%s%N; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }

# One run: prints "<first-tick µs> <wall ms>". --once exits after the second tick (rates need
# two); -t 0.1 keeps that wait short. No config or plugins directory of the user's.
run_once() {
  local cache="$1" log="$work/log" start end tick
  start=$(now_ns)
  env -u HOME XDG_CONFIG_HOME="$work/no-config" GLINT_LOG=glint=info \
    "$GLINT_BIN" --cache-dir "$cache" --stdout-json now --once -t 0.1 >/dev/null 2>"$log"
  end=$(now_ns)
  tick=$(sed -n 's/.*first complete tick \([0-9]*\) µs after start.*/\1/p' "$log" | head -1)
  [[ -n "$tick" ]] || { echo "no first-tick line in the log:" >&2; cat "$log" >&2; exit 1; }
  echo "$tick $(( (end - start) / 1000000 ))"
}

baseline=()
for _ in $(seq "$WARM_RUNS"); do
  start=$(now_ns); "$GLINT_BIN" --version >/dev/null; end=$(now_ns)
  baseline+=("$(( (end - start) / 1000 ))")
done

cold=()
for i in $(seq "$COLD_RUNS"); do cold+=("$(run_once "$work/cold-$i")"); done
warm_cache="$work/warm"
run_once "$warm_cache" >/dev/null   # fills the cache
warm=()
for _ in $(seq "$WARM_RUNS"); do warm+=("$(run_once "$warm_cache")"); done

base_us=$(printf '%s\n' "${baseline[@]}" | median)
cold_us=$(printf '%s\n' "${cold[@]}" | awk '{print $1}' | median)
warm_us=$(printf '%s\n' "${warm[@]}" | awk '{print $1}' | median)
warm_wall=$(printf '%s\n' "${warm[@]}" | awk '{print $2}' | median)
cold_wall=$(printf '%s\n' "${cold[@]}" | awk '{print $2}' | median)
plugins=$(env -u HOME XDG_CONFIG_HOME="$work/no-config" "$GLINT_BIN" --cache-dir "$warm_cache" plugins | tail -n +2 | grep -vc '^refused' || true)

echo "glint start-up, $plugins default plugins, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %10s\n' "baseline: glint --version (launch to exit)" "$(awk -v u="$base_us" 'BEGIN{printf "%.1f ms", u/1000}')"
printf '%-44s %10s   (whole --once run %s ms)\n' "first complete tick, cold cache (median of $COLD_RUNS)" "$(awk -v u="$cold_us" 'BEGIN{printf "%.1f ms", u/1000}')" "$cold_wall"
printf '%-44s %10s   (whole --once run %s ms)\n' "first complete tick, warm cache (median of $WARM_RUNS)" "$(awk -v u="$warm_us" 'BEGIN{printf "%.1f ms", u/1000}')" "$warm_wall"
printf '%-44s %10s\n' "warm / baseline" "$(awk -v w="$warm_us" -v b="$base_us" 'BEGIN{printf "%.1fx", w/b}')"
printf '%-44s %10s\n' "cold / warm" "$(awk -v c="$cold_us" -v w="$warm_us" 'BEGIN{printf "%.1fx", c/w}')"
if awk -v w="$warm_us" -v t="$TARGET_WARM_MS" 'BEGIN{exit !(w/1000 <= t)}'; then
  echo "warm start ≤ $TARGET_WARM_MS ms: PASS"
else
  echo "warm start ≤ $TARGET_WARM_MS ms: FAIL"
fi
