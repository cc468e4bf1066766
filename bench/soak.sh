#!/usr/bin/env bash
# Soak: steady load at a fixed rate for a long time, sampling each worker's RSS and the error
# count every few seconds; prints a table and a verdict (no errors; no upward RSS trend after
# the first fifth, the warm-up).
#
#   bench/soak.sh [--rate 5000] [--duration 10m] [--interval 10] [--connections N] [--client http2|grpc-js]
#
# Starts the built service itself (WORKERS workers, default all cores) on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh
rate=5000 duration=10m interval=10 connections=${WORKERS:-$(nproc)} client=http2
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --client) client=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$duration" in *m) seconds=$((${duration%m} * 60)) ;; *s) seconds=${duration%s} ;; *) seconds=$duration ;; esac

npm run build --silent
# shellcheck source=bench/start-service.sh
. bench/start-service.sh
work=$(mktemp -d)
load_pid=''
cleanup() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; stop_service; rm -rf "$work"; }
trap cleanup EXIT
start_service
mapfile -t workers < <(worker_pids)
echo "soak: ${#workers[@]} worker(s) on 127.0.0.1:$SERVICE_PORT, $rate calls/s for ${seconds}s over $connections connection(s) ($client client)"

node dist/bench/load.js --target "127.0.0.1:$SERVICE_PORT" --rps "$rate" --duration "${seconds}s" \
  --connections "$connections" --client "$client" --json --progress-jsonl >"$work/summary.json" 2>"$work/progress.jsonl" &
load_pid=$!

printf '%8s %12s %8s' 'time s' 'calls' 'errors'
for pid in "${workers[@]}"; do printf ' %14s' "rss MiB $pid"; done
echo
samples="$work/samples"
while kill -0 "$load_pid" 2>/dev/null; do
  sleep "$interval"
  last=$(grep '^{' "$work/progress.jsonl" | tail -1 || true)
  [ -n "$last" ] || continue
  elapsed=$(sed -n 's/.*"elapsedS":\([0-9]*\).*/\1/p' <<<"$last")
  calls=$(sed -n 's/.*"calls":\([0-9]*\).*/\1/p' <<<"$last")
  errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$last")
  printf '%8s %12s %8s' "$elapsed" "$calls" "$errors"
  line="$elapsed $errors"
  for pid in "${workers[@]}"; do
    rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo dead)
    printf ' %14s' "$rss"
    line+=" $rss"
  done
  echo
  echo "$line" >>"$samples"
done
wait "$load_pid" || true
load_pid=''

summary=$(cat "$work/summary.json")
node - "$samples" "$seconds" "$summary" <<'JS'
const [samplesFile, seconds, summaryText] = process.argv.slice(2);
const rows = require('fs').readFileSync(samplesFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
const summary = JSON.parse(summaryText);
const failed = Object.entries(summary.statuses).filter(([code]) => code !== 'OK').reduce((n, [, c]) => n + c, 0);
const afterWarmup = rows.filter((r) => Number(r[0]) >= Number(seconds) / 5);
const half = Math.floor(afterWarmup.length / 2);
const mean = (rs, col) => rs.reduce((s, r) => s + Number(r[col]), 0) / Math.max(1, rs.length);
const verdicts = [];
for (let col = 2; col < (rows[0] ?? []).length; col++) {
  const first = mean(afterWarmup.slice(0, half), col);
  const second = mean(afterWarmup.slice(half), col);
  const growth = second - first;
  const ok = rows.every((r) => r[col] !== 'dead') && growth < Math.max(5, first * 0.05);
  verdicts.push(ok);
  console.log(`worker ${col - 1}: RSS after warm-up ${first.toFixed(1)} MiB -> ${second.toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}) ${ok ? 'flat' : 'GROWING or died'}`);
}
const p = Object.fromEntries(summary.percentiles.map((x) => [x.percentile, x.ms]));
console.log(`calls ${summary.count} at ${summary.rps.toFixed(0)}/s, failed ${failed}, not sent ${summary.skipped}; latency p50 ${p[50]} ms, p99 ${p[99]} ms, p99.9 ${p[99.9]} ms, max ${summary.slowestMs} ms`);
const pass = failed === 0 && summary.skipped === 0 && verdicts.every(Boolean);
console.log(`verdict: ${pass ? 'PASS' : 'FAIL'} (no errors, no upward RSS trend after warm-up)`);
process.exitCode = pass ? 0 : 1;
JS
