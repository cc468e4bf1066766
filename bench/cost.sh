#!/usr/bin/env bash
# The server's CPU cost per call: one worker pinned to core 0, h2load pinned to core 1, a fixed
# number of unary Redirect calls per run; reads the worker's utime+stime from /proc and prints
# CPU-µs per call and calls/s for each run, then the medians.
#
#   bench/cost.sh [--calls N] [--runs N] [--streams N] [--connections N] [--baseline [textbook|bare-http2]] [--json]
#
# --baseline measures a baseline server instead of the service, with the V8 flags the service's
# workers get (WORKER_NODE_FLAGS, else its default): bench/baseline/textbook-server.ts
# (grpc-js + proto-loader, nothing else; the default) or bench/baseline/bare-http2-server.ts (a
# minimal handler on bare node:http2). The service's own environment variables pass through (e.g.
# HOT_PATH=off bench/cost.sh). Runs on the project's Node.js (node_modules/.bin/node), or on the
# node in NODE_BIN_DIR. Needs h2load: apt-get install nghttp2-client.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh

calls=100000 runs=5 streams=50 connections=1 baseline='' json=0 warmup=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --baseline)
      baseline=textbook; shift
      if [ $# -gt 0 ] && [[ "$1" != --* ]]; then baseline=$1; shift; fi ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "cost.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v h2load >/dev/null; then
  echo "cost.sh: h2load not found; install it with: apt-get install nghttp2-client" >&2
  exit 1
fi
say() { [ "$json" = 1 ] || echo "$@"; }

npm run build --silent
# shellcheck source=bench/start-service.sh
. bench/start-service.sh
bench_work_dir

if [ "$(nproc)" -ge 2 ]; then server_cpu=(taskset -c 0); load_cpu=(taskset -c 1); else server_cpu=(); load_cpu=(); fi

node bench/grpc-body.mjs "$work/body.bin"
if [ -n "$baseline" ]; then
  case "$baseline" in
    textbook) label='baseline: textbook grpc-js + proto-loader' ;;
    bare-http2) label='baseline: minimal handler on bare node:http2' ;;
    *) echo "cost.sh: unknown baseline $baseline (textbook or bare-http2)" >&2; exit 2 ;;
  esac
  # The same V8 flags as the service's workers get, so that a baseline compares like with like:
  # a 2 MiB semi-space alone changes what GC costs per call.
  worker_flags=$(service_worker_flags)
  node_flags=()
  if [ "$worker_flags" != none ]; then read -ra node_flags <<<"$worker_flags"; fi
  label="$label, Node flags: $worker_flags"
  start_bare "$work/server.log" "${server_cpu[@]}" node "${node_flags[@]}" "dist/bench/baseline/$baseline-server.js"
  server_pid=$BARE_PID port=$BARE_PORT worker_pid=$BARE_PID
else
  WORKERS=1 start_service "${server_cpu[@]}"
  port=$SERVICE_PORT
  worker_pid=$(worker_pids | head -1)
  label='video-balancer, 1 worker'
fi
if [ -z "${port:-}" ] || [ -z "${worker_pid:-}" ]; then
  echo "cost.sh: the server did not start" >&2; exit 1
fi

url="http://127.0.0.1:$port/loadBalancer.loadBalancer/Redirect"
h2() {
  "${load_cpu[@]}" h2load -n "$1" -c "$connections" -m "$streams" -d "$work/body.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$url"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$worker_pid/stat"; }
rss_kib() { awk '/VmHWM/ { print $2 }' "/proc/$worker_pid/status"; }

say "# $label; $calls calls x $runs runs, $connections connection(s) x $streams streams; $(nproc) cores, $(node --version)"
h2 "$warmup" >/dev/null
ticks_per_s=$(getconf CLK_TCK)
results=()
for run in $(seq "$runs"); do
  before=$(cpu_ticks)
  out=$(h2 "$calls")
  after=$(cpu_ticks)
  succeeded=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  if [ "$succeeded" != "$calls" ]; then echo "cost.sh: only $succeeded of $calls calls succeeded" >&2; echo "$out" >&2; exit 1; fi
  us=$(awk -v d=$((after - before)) -v hz="$ticks_per_s" -v n="$calls" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
  results+=("$us $rps")
  say "run $run: $us CPU-µs/call, $rps calls/s"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
us_median=$(printf '%s\n' "${results[@]}" | awk '{ print $1 }' | median)
rps_median=$(printf '%s\n' "${results[@]}" | awk '{ print $2 }' | median)
peak_rss=$(rss_kib)
if [ "$json" = 1 ]; then
  printf '{"label":"%s","calls":%s,"runs":%s,"cpuMicrosPerCall":%s,"callsPerSecond":%s,"peakRssKiB":%s}\n' \
    "$label" "$calls" "$runs" "$us_median" "$rps_median" "$peak_rss"
else
  echo "median: $us_median CPU-µs/call, $rps_median calls/s; worker peak RSS $((peak_rss / 1024)) MiB"
fi
