#!/usr/bin/env bash
# The Python client example (docs/examples/python_client.py) against the real lethe-server:
# stubs generated from the .proto files alone with protoc 3.21 and gRPC's Python plugin,
# Debian's python3-grpcio, a fresh database.
#   tests/e2e/python_client_e2e.sh LETHE_SERVER_BINARY
# Needs LETHE_TEST_DATABASE_URL (scripts/test exports it).
set -euo pipefail

server_bin=${1:?usage: python_client_e2e.sh LETHE_SERVER}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3  # Debian's, where python3-grpcio is installed
[[ -n "${LETHE_TEST_DATABASE_URL:-}" ]] || { echo "FAIL: LETHE_TEST_DATABASE_URL is not set" >&2; exit 1; }

work=$(mktemp -d /tmp/python-client-e2e.XXXXXX)
db="python_client_e2e_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
base_url=$LETHE_TEST_DATABASE_URL
query=""
if [[ "$base_url" == *\?* ]]; then
  query="?${base_url#*\?}"
  base_url=${base_url%%\?*}
fi
db_url="${base_url%/*}/${db}${query}"
admin_url="${base_url}${query}"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  psql "$admin_url" -qAtX -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 && -f "$work/server.log" ]]; then tail -20 "$work/server.log" >&2; fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

echo "== generating Python stubs from the .proto files"
mkdir -p "$work/gen"
protoc -I "$source_dir/proto" -I /usr/include --python_out="$work/gen" \
  --grpc_python_out="$work/gen" --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$source_dir"/proto/lethe/v1/*.proto "$source_dir"/proto/google/rpc/*.proto

echo "== starting lethe-server"
psql "$admin_url" -v ON_ERROR_STOP=1 -qAtX -c "CREATE DATABASE ${db}" >/dev/null
flags=(--database-url "$db_url" --state-dir "$work/state" --subject-salt py-e2e-salt-0123456789)
token=$("$server_bin" token create --role dpo --name py-dpo "${flags[@]}" 2>"$work/token.log") ||
  fail "lethe-server token create: $(cat "$work/token.log")"
: >"$work/server.out"
"$server_bin" serve --listen 127.0.0.1:0 --metrics-listen= --insecure "${flags[@]}" \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "lethe-server exited during start"
  sleep 0.2
done
[[ -n "$port" ]] || fail "lethe-server did not report its port"

echo "== running docs/examples/python_client.py"
PYTHONPATH="$work/gen" LETHE_TOKEN="$token" "$python" "$source_dir/docs/examples/python_client.py" \
  --server "127.0.0.1:$port" >"$work/out.jsonl" || fail "the example failed: $(cat "$work/out.jsonl")"
cat "$work/out.jsonl"
"$python" - "$work/out.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
health = {l["service"]: l["status"] for l in lines if l["step"] == "health"}
assert health == {s: "SERVING" for s in ("", "lethe.v1.Unlearning", "lethe.v1.Models",
                                         "lethe.v1.Audit", "lethe.v1.Tokens")}, health
who = next(l for l in lines if l["step"] == "whoami")
assert who == {"step": "whoami", "name": "py-dpo", "role": "ROLE_DPO"}, who
assert next(l for l in lines if l["step"] == "models")["names"] == []
refused = next(l for l in lines if l["step"] == "refused")
assert refused["code"] == "INVALID_ARGUMENT", refused
assert refused["reason"] == "MISSING_FIELD", refused
assert refused["domain"] == "lethe.v1", refused
assert refused["metadata"] == {"field": "legal_ground_text"}, refused
print("python client e2e: ok")
PY
