#!/usr/bin/env bash
# 2,000 idle HTTP/2 connections opened at once against one server on core 0, beside a victim
# making 300 calls/s (--rate) on its own connection, both from bench/go/connection-flood on core 1:
#
#   bench/connection-flood.sh [--rounds 3] [--connections 2000] [--hold 1s] [--rate 300] [VARIANT...]
#
# VARIANT: service (WORKERS=1), service@DIR (another tree's build, for before/after),
# bare-http2 (bench/baseline/bare-http2-server.ts, with the service's accept queue and V8
# flags), go (bench/go/redirect-server: a minimal grpc-go server, the floor of this machine and
# this client). Variants are interleaved round by round; each row is one run: how long until
# every connection had the server's SETTINGS, the server's CPU time per connection (opened,
# held and closed, with the victim's calls), the share of its core it used while the idle
# connections were held open (--hold, 1 s by default), and the victim's p99 and max (from
# schedule) while the flood opens, while it is held open, and in the second after it closes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/project-node.sh
. bench/project-node.sh
rounds=3
connections=2000
hold=1s
rate=300
variants=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) variants+=("$1"); shift ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || variants=(service bare-http2 go)

# shellcheck source=bench/start-service.sh
. bench/start-service.sh
bench_work_dir
go_build "$work/connection-flood" bench/go/connection-flood/main.go
go_build "$work/redirect-server" bench/go/redirect-server/main.go
npm run build --silent
worker_flags=$(service_worker_flags)
[ "$worker_flags" = none ] && worker_flags=''

# Starts a variant on core 0; sets port, measured_pid and server_pid.
start() {
  local log="$work/server.log"
  case $1 in
    service|service@*)
      if [ "$1" = service ]; then WORKERS=1 start_service taskset -c 0; else
        pushd "${1#service@}" >/dev/null
        WORKERS=1 start_service taskset -c 0
        popd >/dev/null
      fi
      server_pid=$SERVICE_PID
      port=$SERVICE_PORT
      measured_pid=$(worker_pids | head -1) ;;
    bare-http2|go)
      if [ "$1" = go ]; then
        start_bare "$log" taskset -c 0 "$work/redirect-server"
      else
        # shellcheck disable=SC2086
        start_bare "$log" taskset -c 0 node $worker_flags dist/bench/baseline/bare-http2-server.js
      fi
      server_pid=$BARE_PID port=$BARE_PORT measured_pid=$BARE_PID ;;
    *) echo "connection-flood.sh: unknown variant $1" >&2; exit 2 ;;
  esac
}

stop() {
  if [[ $1 == service* ]]; then stop_service; else kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=''
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "# $connections connections at once, victim $rate calls/s, held $hold; $rounds rounds; $(node --version); Node flags: $worker_flags"
printf '%-11s %12s %12s %10s %12s %8s %9s %8s %12s %8s\n' variant 'accepted ms' 'CPU µs/conn' 'held CPU%' 'opening p99' 'max' 'open p99' 'max' 'closing p99' 'max'
results="$work/results"
for _ in $(seq "$rounds"); do
  for variant in "${variants[@]}"; do
    start "$variant"
    before=$(cpu_ticks "$measured_pid")
    line=$(taskset -c 1 "$work/connection-flood" -target "127.0.0.1:$port" -connections "$connections" -hold "$hold" -rate "$rate" -settle 1s -pid "$measured_pid")
    ticks=$(( $(cpu_ticks "$measured_pid") - before ))
    stop "$variant"
    node -e '
      const [variant, ticks, connections, line] = process.argv.slice(1);
      const r = JSON.parse(line);
      const v = r.victim;
      const failed = v.before.failed + v.all.failed;
      const cpu = (Number(ticks) * 1e4) / Number(connections);
      console.log([variant.padEnd(11), String(r.allAcceptedMs.toFixed(0) + (r.notAccepted ? ` (${r.notAccepted} not)` : "")).padStart(12), cpu.toFixed(0).padStart(12),
        (r.serverCpuMsPerS.open / 10).toFixed(1).padStart(10), v.opening.p99Ms.toFixed(1).padStart(12), v.opening.maxMs.toFixed(1).padStart(8),
        v.open.p99Ms.toFixed(1).padStart(9), v.open.maxMs.toFixed(1).padStart(8), v.closing.p99Ms.toFixed(1).padStart(12), v.closing.maxMs.toFixed(1).padStart(8),
        failed ? `${failed} victim calls failed` : ""].join(" "));
    ' "$variant" "$ticks" "$connections" "$line" | tee -a "$results"
  done
done
echo '# medians (min-max), in the columns above'
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/));
  const by = new Map();
  for (const r of rows) by.set(r[0], [...(by.get(r[0]) ?? []), r.slice(1, 10).map(Number)]);
  const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[(s.length - 1) >> 1]; };
  for (const [variant, runs] of by) {
    const cols = runs[0].map((_, i) => runs.map((r) => r[i]));
    console.log(variant.padEnd(11), cols.map((c) => `${med(c)} (${Math.min(...c)}-${Math.max(...c)})`).join("  "));
  }
' "$results"
