#!/usr/bin/env bash
# Where one server's CPU goes, symbol by symbol, native code included: the server pinned to core
# 0, h2load on core 1 (1 connection x 50 streams, as cost.sh), `perf record -e cpu-clock -g` of
# the serving process during N calls after a warm-up, then `perf report` of its busiest symbols.
# JIT-compiled JavaScript is named through --perf-basic-prof. Run it for two variants and compare
# their reports (docs/performance.md, "At node:http2's floor").
#
#   bench/profile.sh [--calls N] [--top N] service|bare-http2 OUT.data
#
# The service runs with WORKERS=1 and METRICS_PORT=0 and its default V8 flags (WORKER_NODE_FLAGS
# as for cost.sh); the bare handler gets the same flags. Needs perf (linux-perf) and h2load.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh

calls=200000 top=40
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "profile.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { echo "profile.sh: name a variant (service or bare-http2) and the output file" >&2; exit 2; }
variant=$1 out=$2
command -v perf >/dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }
command -v h2load >/dev/null || { echo "profile.sh: h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }

npm run build --silent
# shellcheck source=bench/start-service.sh
. bench/start-service.sh
bench_work_dir
worker_flags=$(service_worker_flags)
[ "$worker_flags" = none ] && worker_flags=''
flags="$worker_flags --perf-basic-prof"
node bench/grpc-body.mjs "$work/body.bin"
log="$work/server.log"
case "$variant" in
  service)
    WORKERS=1 METRICS_PORT=0 WORKER_NODE_FLAGS="$flags" start_service taskset -c 0
    port=$SERVICE_PORT
    profiled=$(worker_pids | head -1) ;;
  bare-http2)
    # shellcheck disable=SC2086 # the flags are a word list
    start_bare "$log" taskset -c 0 node $flags dist/bench/baseline/bare-http2-server.js
    server_pid=$BARE_PID port=$BARE_PORT profiled=$BARE_PID ;;
  *) echo "profile.sh: unknown variant $variant (service or bare-http2)" >&2; exit 2 ;;
esac
[ -n "${port:-}" ] && [ -n "${profiled:-}" ] || { echo "profile.sh: $variant did not start:" >&2; cat "$log" >&2; exit 1; }

h2() {
  taskset -c 1 h2load -n "$1" -c 1 -m 50 -d "$work/body.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port/loadBalancer.loadBalancer/Redirect" | sed -n 's/^\(finished in .*\|requests: .*\)$/\1/p'
}
h2 30000 >/dev/null
ticks() { awk '{ print $14 + $15 }' "/proc/$profiled/stat"; }
before=$(ticks)
perf record -e cpu-clock -F 4000 -g -p "$profiled" -o "$out" 2>"$work/perf.log" &
perf_pid=$!
sleep 0.5
h2 "$calls"
kill -INT "$perf_pid"; wait "$perf_pid" || true
echo "# $variant: $calls calls, $(( $(ticks) - before )) CPU ticks of the profiled process (at $(getconf CLK_TCK)/s, perf's own cost included)"
perf report -i "$out" --no-children --sort sym -g none --stdio -F overhead,sample,sym 2>/dev/null | grep -v "^#" | grep -v "^$" | sort -k2,2 -rn | head -"$top"
