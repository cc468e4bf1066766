#!/usr/bin/env bash
# What node:http2's external header strings cost a worker's old generation and its mark-compacts:
# runs bench/baseline/external-strings-probe.ts (a bare node:http2 handler, with the service's
# V8 flags, --trace-gc-nvp and --allow-natives-syntax) on core 0 under the grpc-go open-loop
# generator (bench/go/loadgen) on core 1, then prints, from V8's own output:
#   - per header value of a request (the third, once HPACK's dynamic table is in use): V8's
#     instance type and whether it was allocated in the young generation;
#   - the old generation's growth per request between mark-compacts (sampled by the probe) beside
#     the bytes promoted per request (scavenges), and what the external strings are of it;
#   - each mark-compact's pause, its phases (mark, clear.external_string_table, evacuate, sweep,
#     finish) and the clear phase's time per external string finalized;
#   - the same pause figures for the service (one worker) under the same load.
#
#   bench/external-strings.sh [--rps N] [--duration 10s] [--rounds N]
#
# WORKER_NODE_FLAGS as for the service (its default unless set; none: V8's defaults). Needs
# Debian's golang-go and golang-google-grpc-dev, and taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh
# shellcheck source=bench/start-service.sh
. bench/start-service.sh

rps=8000 duration=10s rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rps) rps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "external-strings.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

bench_work_dir
go_build "$work/loadgen" bench/go/loadgen/main.go
npm run build --silent
worker_flags=$(service_worker_flags)
node_flags=()
if [ "$worker_flags" != none ]; then read -ra node_flags <<<"$worker_flags"; fi

echo "# $rps requests/s for $duration after a 2 s warm-up from grpc-go on one connection; $rounds rounds; $(node --version); Node flags: ${node_flags[*]}"
for round in $(seq "$rounds"); do
  log="$work/probe-$round.log"
  start_bare "$log" taskset -c 0 node "${node_flags[@]}" --trace-gc-nvp --allow-natives-syntax dist/bench/baseline/external-strings-probe.js
  server_pid=$BARE_PID port=$BARE_PORT
  [ -n "$port" ] || { echo "external-strings.sh: the probe did not start:" >&2; cat "$log" >&2; exit 1; }
  taskset -c 1 "$work/loadgen" -target "127.0.0.1:$port" -rps "$rps" -duration "$duration" -max-in-flight 50 >/dev/null
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=''
  node dist/bench/external-strings-report.js "$log" "round $round, bare node:http2 probe" | tee "$work/probe-$round.report"
  strings=$(sed -n 's/.*"externalStringsPerRequest":\([0-9]*\).*/\1/p' "$work/probe-$round.report")

  # The service, one worker, the same load: its mark-compacts, with the probe's strings per request.
  log="$work/service-$round.log"
  WORKER_NODE_FLAGS="${node_flags[*]} --trace-gc-nvp" WORKERS=1 METRICS_PORT=0 start_service taskset -c 0
  taskset -c 1 "$work/loadgen" -target "127.0.0.1:$SERVICE_PORT" -rps "$rps" -duration "$duration" -max-in-flight 50 >/dev/null
  # The log holds the worker's --trace-gc-nvp lines up to its exit; stop_service removes it.
  kill -TERM "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true
  cp "$SERVICE_LOG" "$log"
  stop_service
  # Every call of the run, the generator's 2 s warm-up included.
  requests=$(awk -v r="$rps" -v d="${duration%s}" 'BEGIN { print int(r * (d + 2)) }')
  node dist/bench/external-strings-report.js "$log" "round $round, the service (1 worker)" --requests "$requests" --rps "$rps" --strings "$strings"
done
