#!/usr/bin/env bash
# The original load scenario with ghz. With no --target it builds and starts the service itself
# (a free port, waits for health), runs
#   ghz --insecure --proto proto/loadbalancer.proto --call loadBalancer.loadBalancer.Redirect \
#       -d '{"video": "http://s1.origin-cluster/video/123/xcg2djHckad.m3u8"}' --rps 15000 --duration 60s HOST:PORT
# prints ghz's summary, and stops the service. With --reflection ghz gets no --proto and learns
# the method from the server's reflection service, as a user without the proto file would.
# Without ghz on PATH it says how to install it and runs bench/load.ts with the same options instead.
#
#   bench/run.sh [--rps N] [--duration 60s] [--connections N] [--concurrency N] [--reflection]
#                [--target HOST:PORT] [--json] [--per-worker] [--client grpc-js|http2]
#
# On a 2-core machine ghz itself is the bottleneck: its figures there rank servers by the CPU
# they leave to ghz (see docs/performance.md).
#
# --per-worker: a second scenario with one connection per worker (one HTTP/2 connection lands
# on one worker, so a single connection loads one core only). Options can also come from the
# environment: RPS, DURATION, CONNECTIONS, CONCURRENCY, TARGET, JSON=1, REFLECTION=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh
rps=${RPS:-15000} duration=${DURATION:-60s} connections=${CONNECTIONS:-1} concurrency=${CONCURRENCY:-50}
target=${TARGET:-} json=${JSON:-0} per_worker=0 client=grpc-js reflection=${REFLECTION:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --rps) rps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --json) json=1; shift ;;
    --reflection) reflection=1; shift ;;
    --per-worker) per_worker=1; shift ;;
    --client) client=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

npm run build --silent
# shellcheck source=bench/start-service.sh
. bench/start-service.sh
trap stop_service EXIT
if [ -z "$target" ]; then
  start_service
  target="127.0.0.1:$SERVICE_PORT"
  [ "$json" = 1 ] || echo "started the service on $target with ${WORKERS:-$(nproc)} worker(s)" >&2
fi
if [ "$per_worker" = 1 ]; then connections=${WORKERS:-$(nproc)}; fi

if command -v ghz >/dev/null; then
  format=summary
  [ "$json" = 1 ] && format=json
  proto=(--proto proto/loadbalancer.proto)
  [ "$reflection" = 1 ] && proto=()
  ghz --insecure "${proto[@]}" --call loadBalancer.loadBalancer.Redirect \
    -d '{"video": "http://s1.origin-cluster/video/123/xcg2djHckad.m3u8"}' \
    --rps "$rps" --duration "$duration" --connections "$connections" --concurrency "$concurrency" \
    --format "$format" "$target"
else
  echo "run.sh: ghz is not on PATH (install: https://ghz.sh/docs/install, or 'go install github.com/bojand/ghz/cmd/ghz@latest');" \
    "using bench/load.ts with the same options" >&2
  args=(--target "$target" --rps "$rps" --duration "$duration" --connections "$connections" --concurrency "$concurrency" --client "$client")
  [ "$json" = 1 ] && args+=(--json)
  node dist/bench/load.js "${args[@]}"
fi
