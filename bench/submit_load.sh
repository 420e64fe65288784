#!/usr/bin/env bash
# Durable-submit benchmark of lethe-server on loopback: starts a private PostgreSQL
# cluster (fsync on) and a server, registers a synthetic model, and runs bench/submit_load
# at each concurrency. Prints one JSON object per run, plus the server's group-commit
# statistics and CPU time per request.
#   bench/submit_load.sh [BUILD_DIR] [CONCURRENCY...]    (defaults: build, 16 64)
# Environment: DURATION_S (10), ITEMS (60000), SERVER_ARGS (extra lethe-server flags).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
shift || true
concurrency=("$@")
((${#concurrency[@]})) || concurrency=(16 64)
duration=${DURATION_S:-10}
items=${ITEMS:-60000}
server="$build/server/lethe-server"
load="$build/bench/submit_load"
for b in "$server" "$load"; do
  [[ -x "$b" ]] || { echo "submit_load.sh: $b not built (ninja -C $build lethe-server submit_load)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/lethe-submit-load.XXXXXX)
chmod 755 "$work"  # as root, the cluster runs as the postgres user
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  "$repo/scripts/pg-cluster" stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

url=$("$repo/scripts/pg-cluster" start "$work/pg")
echo "cluster: $url (fsync=on, synchronous_commit=on)" >&2
admin=$("$server" token create --role admin --name bench-admin --database-url "$url" \
  --state-dir "$work" --log-level error 2>/dev/null)
dpo=$("$server" token create --role dpo --name bench-dpo --database-url "$url" \
  --state-dir "$work" --log-level error 2>/dev/null)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$server" --insecure --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" \
  --database-url "$url" --state-dir "$work" --log-level warn --db-pool-size 16 \
  ${SERVER_ARGS:-} >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on port" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on port" "$work/server.out" || { cat "$work/server.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU of this cluster only: its postmaster and the backends it forked (other clusters on
# the machine run as the same user).
pg_ticks() {
  local pm total=0
  pm=$(head -1 "$work/pg/data/postmaster.pid")
  for p in "$pm" $(pgrep -P "$pm" || true); do
    [[ -r /proc/$p/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $total
}
hz=$(getconf CLK_TCK)

first=1
for c in "${concurrency[@]}"; do
  reg=()
  if ((first)); then reg=(--register-fake-model "$items" --admin-token "$admin" --work-dir "$work"); fi
  first=0
  s0=$(cpu_ticks "$server_pid"); p0=$(pg_ticks)
  m0=$(curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -E '^lethe_submit_batch_size_(sum|count)' || true)
  "$load" --target "127.0.0.1:$port" --token "$dpo" --model bench --concurrency "$c" \
    --duration-s "$duration" "${reg[@]}" | tee "$work/run-$c.json"
  s1=$(cpu_ticks "$server_pid"); p1=$(pg_ticks)
  m1=$(curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -E '^lethe_submit_batch_size_(sum|count)' || true)
  ok=$(python3 -c "import json;print(json.load(open('$work/run-$c.json'))['ok'])")
  python3 - "$c" "$ok" "$s0" "$s1" "$p0" "$p1" "$hz" "$m0" "$m1" <<'PY'
import json, sys
c, ok, s0, s1, p0, p1, hz = sys.argv[1:8]
def parse(text):
    d = {}
    for line in text.splitlines():
        k, v = line.split()
        d[k.split('_')[-1]] = float(v)
    return d
m0, m1 = parse(sys.argv[8]), parse(sys.argv[9])
ok = max(int(ok), 1)
batches = m1.get('count', 0) - m0.get('count', 0)
subs = m1.get('sum', 0) - m0.get('sum', 0)
print(json.dumps({
  "concurrency": int(c),
  "server_cpu_ms_per_request": round((int(s1) - int(s0)) * 1000 / int(hz) / ok, 3),
  "postgres_cpu_ms_per_request": round((int(p1) - int(p0)) * 1000 / int(hz) / ok, 3),
  "commits": int(batches),
  "mean_requests_per_commit": round(subs / batches, 1) if batches else None,
}, indent=2))
PY
done
