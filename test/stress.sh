#!/usr/bin/env bash
# Runs the whole suite (npm test) RUNS times in a row while another process keeps one core busy,
# as on a shared CI machine or a busy laptop; keeps every run's full output and prints a summary.
#
#   test/stress.sh [RUNS] [LOG_DIR]        defaults: 10 runs, .stress/ (git-ignored)
#
# A failure is kept, never retried: read its log, then decide whether the service or the test is wrong.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
logs=${2:-.stress}
mkdir -p "$logs"

# The busy core: a spinning process for the whole series, stopped on any exit.
node -e 'for (;;);' &
spinner=$!
trap 'kill $spinner 2>/dev/null' EXIT

passed=0 failed=0
for run in $(seq 1 "$runs"); do
  log="$logs/run-$run.log"
  started=$(date +%s)
  if npm test >"$log" 2>&1; then
    passed=$((passed + 1)); verdict=pass
  else
    failed=$((failed + 1)); verdict=FAIL
  fi
  summary=$(grep -E '^# \{ total' "$log" | tail -1)
  echo "run $run: $verdict in $(( $(date +%s) - started )) s ${summary#\# }"
  # Each failed assertion with the test file it belongs to.
  [ "$verdict" = FAIL ] && grep -E '^\s*not ok' "$log" | sed 's/^ */    /'
done
echo "suite runs under load: $runs, passed $passed, failed $failed (logs in $logs/)"
[ "$failed" = 0 ]
