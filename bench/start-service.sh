# Sourced by the bench scripts: starts the built service on a free port in the background and
# sets SERVICE_PID, SERVICE_PORT and SERVICE_LOG. Extra environment passes through. start_bare
# starts the servers it is compared with; bench_work_dir gives a run its folder and its clean-up.
#   start_service [command prefix...]      e.g. start_service taskset -c 0
start_service() {
  SERVICE_LOG=$(mktemp)
  GRPC_HOST=${GRPC_HOST:-127.0.0.1} GRPC_PORT=0 "$@" node dist/src/main.js >"$SERVICE_LOG" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 150); do grep -q 'serving gRPC on' "$SERVICE_LOG" && break; sleep 0.1; done
  SERVICE_PORT=$(sed -n 's/.*"port":\([0-9]*\),"msg":"serving gRPC on.*/\1/p' "$SERVICE_LOG" | head -1)
  if [ -z "$SERVICE_PORT" ]; then
    echo "the service did not start:" >&2
    cat "$SERVICE_LOG" >&2
    return 1
  fi
  # Wait for every worker, then for the health service to answer SERVING.
  local workers=${WORKERS:-$(nproc)}
  for _ in $(seq 150); do [ "$(grep -c '"msg":"worker listening"' "$SERVICE_LOG")" -ge "$workers" ] && break; sleep 0.1; done
  node dist/src/cli/health-check.js "127.0.0.1:$SERVICE_PORT" >/dev/null
}

# Starts a server that prints {"port":N} once it listens (the bare baselines, the probe, the Go
# server) in the background with its output in LOG; sets BARE_PID, and BARE_PORT (empty if no port
# was printed within 10 s: the caller says what did not start).
#   start_bare LOG command...      e.g. start_bare "$work/server.log" taskset -c 0 node server.js
start_bare() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  BARE_PID=$!
  for _ in $(seq 100); do grep -q '"port"' "$log" && break; sleep 0.1; done
  BARE_PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$log" | head -1)
}

# The V8 flags the service's workers get (WORKER_NODE_FLAGS, else its default), read from the built
# configuration as the service reads them, so that a reformat of config.ts cannot silently leave a
# benchmark on V8's defaults; "none" for V8's own.
service_worker_flags() {
  local flags
  flags=$(node --input-type=module -e "import { loadConfig } from './dist/src/config/config.js'; const flags = loadConfig(process.env).workerNodeFlags; console.log(flags.length ? flags.join(' ') : 'none');")
  [ -n "$flags" ] || { echo "cannot read the worker flags from dist/src/config/config.js" >&2; return 1; }
  echo "$flags"
}

stop_service() {
  [ -n "${SERVICE_PID:-}" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  [ -n "${SERVICE_LOG:-}" ] && rm -f "$SERVICE_LOG"
  SERVICE_PID=''
}

worker_pids() {
  sed -n 's/.*"pid":\([0-9]*\),"role":"worker".*"msg":"worker listening".*/\1/p' "$SERVICE_LOG"
}

# Sets work to a new folder, and server_pid to '' for the caller's own server; on exit, that
# server and the service (if either still runs) are stopped and the folder removed.
bench_work_dir() {
  work=$(mktemp -d)
  server_pid=''
  trap bench_cleanup EXIT
}

bench_cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  stop_service
  wait 2>/dev/null
  rm -rf "$work"
}

# Builds one of bench/go's programs with Debian's Go and golang-google-grpc-dev, offline (GOPATH
# mode), caching in the work folder:   go_build OUT SOURCE
go_build() {
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" go build -o "$1" "$2"
}
