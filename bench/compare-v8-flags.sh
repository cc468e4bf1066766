#!/usr/bin/env bash
# Chooses the workers' V8 flags by measurement: runs bench/cost.sh for each setting in turn,
# interleaved round by round so that drift on a shared machine hits all settings alike, and
# prints the median CPU-µs per call, calls/s and peak RSS of each.
#   bench/compare-v8-flags.sh [rounds] ["flags A" "flags B" ...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=("" "--max-semi-space-size=32" "--max-semi-space-size=64")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for i in "${!settings[@]}"; do
    # WORKER_NODE_FLAGS reaches the workers only; "none" means V8's defaults.
    line=$(WORKER_NODE_FLAGS="${settings[$i]:-none}" bench/cost.sh --runs 1 --json)
    echo "$i $line" >>"$results"
    echo "round $round, setting '${settings[$i]:-default}': $line" >&2
  done
done
printf '%-34s %14s %12s %14s\n' setting 'CPU-µs/call' 'calls/s' 'peak RSS MiB'
for i in "${!settings[@]}"; do
  median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  us=$(awk -v i="$i" '$1 == i' "$results" | sed -n 's/.*"cpuMicrosPerCall":\([0-9.]*\).*/\1/p' | median)
  rps=$(awk -v i="$i" '$1 == i' "$results" | sed -n 's/.*"callsPerSecond":\([0-9.]*\).*/\1/p' | median)
  rss=$(awk -v i="$i" '$1 == i' "$results" | sed -n 's/.*"peakRssKiB":\([0-9]*\).*/\1/p' | median)
  printf '%-34s %14s %12s %14s\n' "${settings[$i]:-default}" "$us" "$rps" "$((${rss%.*} / 1024))"
done
