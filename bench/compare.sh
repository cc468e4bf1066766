#!/usr/bin/env bash
# Compares servers by CPU per call: runs bench/cost.sh once per variant per round, variants
# interleaved round by round so that drift on a shared machine hits them alike, and prints the
# median (min-max) CPU-µs per call, calls/s and peak RSS of each, and the median (min-max) of
# each round's ratio to the first variant's figure.
#
#   bench/compare.sh [--rounds N] [--calls N] 'label;VAR=value VAR=value;cost.sh options' ...
#
# e.g. bench/compare.sh --rounds 5 'hot path;;' 'grpc-js;HOT_PATH=off;' 'bare http2;;--baseline bare-http2'
# A variant may set NODE_BIN_DIR (which node runs it) or COST_SH (another tree's cost.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 calls=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "compare.sh: name at least one variant (see --help)" >&2; exit 2; }
variants=("$@")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    IFS=';' read -r label assignments options <<<"${variants[$i]}"
    cost_sh=$(sed -n 's/.*COST_SH=\([^ ]*\).*/\1/p' <<<"$assignments")
    # shellcheck disable=SC2086 # assignments and options are word lists on purpose
    line=$(env $assignments "${cost_sh:-bench/cost.sh}" --runs 1 --calls "$calls" --json $options)
    echo "$i $line" >>"$results"
    echo "round $round, $label: $line" >&2
  done
done
stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s (%s-%s)", m, v[1], v[NR] }'; }
# Each round's CPU-µs/call over the first variant's in the same round: drift of the shared machine
# moves both runs of a round alike, so the ratios spread far less than the figures themselves.
ratios() {
  awk -v i="$1" '{ us = $0; sub(/.*"cpuMicrosPerCall":/, "", us); sub(/,.*/, "", us); v[$1, n[$1]++] = us }
    END { for (r = 0; r < n[i]; r++) printf "%.3f\n", v[i, r] / v[0, r] }' "$results" | stats
}
printf '%-44s %-22s %-22s %-26s %s\n' variant 'CPU-µs/call' 'ratio to the first' 'calls/s' 'peak RSS MiB'
for i in "${!variants[@]}"; do
  IFS=';' read -r label _ <<<"${variants[$i]}"
  rows=$(awk -v i="$i" '$1 == i' "$results")
  printf '%-44s %-22s %-22s %-26s %s\n' "$label" \
    "$(sed -n 's/.*"cpuMicrosPerCall":\([0-9.]*\).*/\1/p' <<<"$rows" | stats)" \
    "$(ratios "$i")" \
    "$(sed -n 's/.*"callsPerSecond":\([0-9.]*\).*/\1/p' <<<"$rows" | awk '{ printf "%d\n", $1 }' | stats)" \
    "$(sed -n 's/.*"peakRssKiB":\([0-9]*\).*/\1/p' <<<"$rows" | awk '{ printf "%d\n", $1 / 1024 }' | stats)"
done
