#!/usr/bin/env bash
# Latency at a fixed rate on one connection: each server pinned to core 0, the grpc-go load
# generator (bench/go/loadgen, open loop) pinned to core 1, every variant once per round,
# rounds interleaved; prints each run and the medians (with min-max) per variant.
#
# Latencies are from schedule: each call counts from the moment it was due, so a stall is charged
# to every call it delays (what a caller at that rate sees). For the Node servers, V8's
# --trace-gc-nvp gives the bytes promoted to the old generation per call and the mark-compact
# pauses (count, longest) over the whole run.
#
#   bench/latency.sh [--rps N] [--duration 10s] [--rounds N] [--max-in-flight N] [variant ...]
#
# Variants: service (as configured: hot path on), service-hot-path-off, bare-http2 (a minimal
# node:http2 handler), go (a minimal grpc-go server), textbook (grpc-js + proto-loader).
# service@DIR runs another tree's build (DIR/dist, e.g. a git worktree of an older commit), to
# compare before and after in one run. Default: service service-hot-path-off bare-http2 go.
# VARIANT+FLAG[+FLAG...] runs a Node variant with extra V8 flags, e.g.
# service+--no-allocation-site-pretenuring. WORKER_NODE_FLAGS applies to the Node servers. Needs Debian's golang-go and golang-google-grpc-dev (built offline, GOPATH mode) and
# taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh

rps=15000 duration=10s rounds=3 in_flight=50
variants=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rps) rps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --max-in-flight) in_flight=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "latency.sh: unknown option $1" >&2; exit 2 ;;
    *) variants+=("$1"); shift ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || variants=(service service-hot-path-off bare-http2 go)

# shellcheck source=bench/start-service.sh
. bench/start-service.sh
bench_work_dir
go_build "$work/loadgen" bench/go/loadgen/main.go
go_build "$work/redirect-server" bench/go/redirect-server/main.go
npm run build --silent

# The Node servers all run with the service's V8 flags (its default unless WORKER_NODE_FLAGS says;
# WORKER_NODE_FLAGS=none is V8's defaults).
worker_flags=$(service_worker_flags)
node_flags=()
if [ "$worker_flags" != none ]; then read -ra node_flags <<<"$worker_flags"; fi
node_flags+=(--trace-gc-nvp)

# Starts a variant on core 0; sets server_pid, port and measured_pid (the process that serves).
start_variant() {
  local log="$work/server.log" extra=()
  : >"$log"
  [[ $1 == *+* ]] && IFS=+ read -ra extra <<<"${1#*+}"
  local flags=("${node_flags[@]}" "${extra[@]}")
  case "${1%%+*}" in
    service|service-hot-path-off|service@*)
      local hot=on tree=.; [ "${1%%+*}" = service-hot-path-off ] && hot=off
      case "${1%%+*}" in service@*) tree=${1%%+*}; tree=${tree#service@} ;; esac
      WORKER_NODE_FLAGS="${flags[*]}" WORKERS=1 HOT_PATH=$hot GRPC_HOST=127.0.0.1 GRPC_PORT=0 METRICS_PORT=0 \
        taskset -c 0 node "$tree/dist/src/main.js" >"$log" 2>&1 &
      server_pid=$!
      for _ in $(seq 100); do grep -q '"msg":"worker listening"' "$log" && break; sleep 0.1; done
      port=$(sed -n 's/.*"port":\([0-9]*\),"msg":"serving gRPC on.*/\1/p' "$log" | head -1)
      measured_pid=$(sed -n 's/.*"pid":\([0-9]*\),"role":"worker".*"msg":"worker listening".*/\1/p' "$log" | head -1) ;;
    bare-http2|textbook|go)
      if [ "$1" = go ]; then
        start_bare "$log" taskset -c 0 "$work/redirect-server"
      else
        start_bare "$log" taskset -c 0 node "${flags[@]}" "dist/bench/baseline/${1%%+*}-server.js"
      fi
      server_pid=$BARE_PID port=$BARE_PORT measured_pid=$BARE_PID ;;
    *) echo "latency.sh: unknown variant $1" >&2; exit 2 ;;
  esac
  [ -n "$port" ] || { echo "latency.sh: $1 did not start:" >&2; cat "$log" >&2; exit 1; }
}

echo "# $rps calls/s on one connection (at most $in_flight in flight) for $duration after a 2 s warm-up; $rounds rounds; $(node --version); Node flags: ${node_flags[*]}"
results="$work/results"
for round in $(seq "$rounds"); do
  for variant in "${variants[@]}"; do
    start_variant "$variant"
    line=$(taskset -c 1 "$work/loadgen" -target "127.0.0.1:$port" -rps "$rps" -duration "$duration" -max-in-flight "$in_flight")
    rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$measured_pid/status")
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=''
    # Every call of the run, warm-up included, against everything V8 promoted and paused.
    calls=$(awk -v r="$rps" -v d="${duration%s}" 'BEGIN { print int(r * (d + 2)) }')
    gc=$(awk -v calls="$calls" '
      / gc=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
               promoted += f["promoted"]; if (f["gc"] == "mc") { mc++; if (f["pause"] > mcMax) mcMax = f["pause"] } }
      END { printf "\"promotedBytesPerCall\":%d,\"markCompacts\":%d,\"markCompactMaxMs\":%.1f", (calls ? promoted / calls : 0), mc, mcMax }' "$work/server.log")
    echo "$variant ${line%\}},\"peakRssMiB\":$rss,$gc}" | tee -a "$results"
  done
done

field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s (%s-%s)", m, v[1], v[NR] }'; }
printf '\n%-22s %-16s %-20s %-20s %-20s %-14s %-16s %-8s %s\n' variant 'calls/s' 'p50 ms' 'p99 ms' 'p99.9 ms' 'peak RSS MiB' 'promoted B/call' 'MCs' 'MC max ms'
echo '(latencies from schedule; promoted bytes and mark-compacts from --trace-gc-nvp, Node servers only)'
for variant in "${variants[@]}"; do
  rows=$(grep "^$variant " "$results")
  printf '%-22s %-16s %-20s %-20s %-20s %-14s %-16s %-8s %s\n' "$variant" \
    "$(field achievedRps <<<"$rows" | awk '{ printf "%d\n", $1 }' | stats)" "$(field p50Ms <<<"$rows" | stats)" \
    "$(field p99Ms <<<"$rows" | stats)" "$(field p999Ms <<<"$rows" | stats)" "$(field peakRssMiB <<<"$rows" | stats)" \
    "$(field promotedBytesPerCall <<<"$rows" | stats)" "$(field markCompacts <<<"$rows" | stats)" "$(field markCompactMaxMs <<<"$rows" | stats)"
done
