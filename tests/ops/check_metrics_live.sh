#!/usr/bin/env bash
# Starts lethe-server (and lethe-worker when given) against a fresh database on the test
# PostgreSQL (LETHE_TEST_DATABASE_URL), on free loopback ports, scrapes their /metrics,
# lints the scrapes with `promtool check metrics`, and checks that every metric the alert
# rules and the Grafana dashboard query is exported.
#
#   check_metrics_live.sh --server BIN [--lethectl BIN] [--worker BIN --engine BIN]
#
# Without --worker, the lethe_worker_* names are reported as not checked.
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}

server="" worker="" engine="" lethectl=""
while (($#)); do
  case "$1" in
    --server) server=$2; shift ;;
    --worker) worker=$2; shift ;;
    --engine) engine=$2; shift ;;
    --lethectl) lethectl=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -x "$server" ]] || { echo "--server: no executable \"$server\"" >&2; exit 2; }
if [[ -n "$worker" && ! -x "$engine" ]]; then
  echo "--worker needs --engine (to make the evaluator it loads)" >&2; exit 2
fi
: "${LETHE_TEST_DATABASE_URL:?set LETHE_TEST_DATABASE_URL (scripts/test starts a PostgreSQL)}"
command -v promtool >/dev/null || { echo "promtool not found (scripts/setup)" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql not found (scripts/setup)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/lethe-ops-metrics.XXXXXX)
db="lethe_ops_metrics_$$_$RANDOM"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$LETHE_TEST_DATABASE_URL" -qAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    >/dev/null 2>&1 || true
  if ((rc != 0)); then
    for log in "$tmp"/*.log; do
      [[ -f "$log" ]] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -20 "$log" >&2
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Waits until URL answers 200 (or PID dies); the body goes to FILE.
fetch() {
  local url=$1 file=$2 pid=$3 deadline=$((SECONDS + 90))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "process $pid exited before $url answered" >&2; return 1; fi
    if "$python" - "$url" "$file" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    body = r.read()
    if r.status != 200:
        sys.exit(1)
open(sys.argv[2], "wb").write(body)
PY
    sleep 0.5
  done
  echo "$url did not answer within 90 s" >&2
  return 1
}

# A database of our own: a worker here must never claim other tests' jobs.
psql "$LETHE_TEST_DATABASE_URL" -qAt -c "CREATE DATABASE $db" >/dev/null
url=$("$python" -c 'import sys, urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' \
  "$LETHE_TEST_DATABASE_URL" "$db")
mkdir -p "$tmp/state" "$tmp/models"

# --- lethe-server
server_metrics=$(free_port)
: >"$tmp/server.out"  # exists before the poll below reads it
# With an audit signing key, so the checkpoint metrics the alerts use are exported.
openssl genpkey -algorithm ed25519 -out "$tmp/audit-signing.pem" 2>/dev/null
"$server" --insecure --listen=127.0.0.1:0 --metrics-listen="127.0.0.1:$server_metrics" \
  --database-url="$url" --state-dir="$tmp/state" --model-store="$tmp/models" \
  --audit-signing-key="$tmp/audit-signing.pem" \
  --gauge-refresh-s=1 --log-level=warn >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
pids+=("$server_pid")
fetch "http://127.0.0.1:$server_metrics/metrics" "$tmp/server.prom" "$server_pid"
grpc_port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$tmp/server.out" | head -1)
[[ -n "$grpc_port" ]] || { echo "lethe-server did not print its port" >&2; exit 1; }
echo "lethe-server: gRPC on $grpc_port, /metrics on $server_metrics"

# Calls through the API, so the RPC families have samples: one authenticated, one not.
if [[ -n "$lethectl" ]]; then
  secret=$("$server" token create --role admin --name ops-metrics --database-url="$url" \
    --state-dir="$tmp/state" 2>>"$tmp/server.log")
  LETHE_TOKEN="$secret" "$lethectl" --server "127.0.0.1:$grpc_port" --insecure whoami \
    >"$tmp/whoami.out" 2>"$tmp/lethectl.log" ||
    { echo "lethectl whoami with a valid token failed" >&2; cat "$tmp/lethectl.log" >&2; exit 1; }
  if LETHE_TOKEN="lethe_not-a-real-token" "$lethectl" --server "127.0.0.1:$grpc_port" \
      --insecure whoami >/dev/null 2>>"$tmp/lethectl.log"; then
    echo "lethectl whoami with a bogus token succeeded" >&2; exit 1
  fi
fi

# --- lethe-worker (it loads an evaluator at start: a tiny one is trained for it)
worker_scrape=()
if [[ -n "$worker" ]]; then
  "$engine" train-evaluator --preset tiny --iterations 2 --limit 256 --data fashion-mnist \
    --out "$tmp/evaluator" >"$tmp/evaluator.out" 2>"$tmp/evaluator.log"
  worker_metrics=$(free_port)
  OMP_NUM_THREADS=1 "$worker" --database-url="$url" --model-store="$tmp/models" \
    --evaluator="$tmp/evaluator" --worker-id=ops-metrics-test --poll-seconds=1 \
    --metrics-listen="127.0.0.1:$worker_metrics" --work-dir="$tmp" --log-level=warn \
    >"$tmp/worker.out" 2>"$tmp/worker.log" &
  worker_pid=$!
  pids+=("$worker_pid")
  fetch "http://127.0.0.1:$worker_metrics/metrics" "$tmp/worker.prom" "$worker_pid"
  worker_scrape=("$tmp/worker.prom")
  echo "lethe-worker: /metrics on $worker_metrics"
fi

# Let the server's database gauges refresh once more, then take the scrapes checked.
sleep 2
fetch "http://127.0.0.1:$server_metrics/metrics" "$tmp/server.prom" "$server_pid"
if [[ -n "$worker" ]]; then
  fetch "http://127.0.0.1:$worker_metrics/metrics" "$tmp/worker.prom" "$worker_pid"
fi

for scrape in "$tmp/server.prom" "${worker_scrape[@]}"; do
  if ! lint=$(promtool check metrics <"$scrape" 2>&1); then
    echo "promtool check metrics $(basename "$scrape"):" >&2
    echo "$lint" >&2
    exit 1
  fi
  echo "promtool check metrics $(basename "$scrape"): ok ($(grep -vc '^#' "$scrape") samples)"
done

if [[ -n "$lethectl" ]]; then
  grep -Eq '^lethe_rpc_requests_total\{.*code="OK".*\} [1-9]' "$tmp/server.prom" ||
    { echo "no successful RPC counted in lethe_rpc_requests_total" >&2; exit 1; }
  grep -Eq '^lethe_rpc_requests_total\{.*code="UNAUTHENTICATED".*\} [1-9]' "$tmp/server.prom" ||
    { echo "the rejected RPC is not counted in lethe_rpc_requests_total" >&2; exit 1; }
fi

check=("$python" "$root/tests/ops/promql_names.py" check "$tmp/server.prom" "${worker_scrape[@]}"
       --rules "$root/deploy/alerts.yml" --dashboard "$root/deploy/grafana/dashboards/lethe.json")
if [[ -z "$worker" ]]; then
  echo "lethe-worker not given: lethe_worker_* metrics are NOT checked"
  check+=(--skip-prefix lethe_worker_)
fi
"${check[@]}"
