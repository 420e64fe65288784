#!/usr/bin/env bash
# lethe-server killed with SIGKILL under submit load, and restarted on the same port.
# Clients retry UNAVAILABLE with the same request id. Afterwards every acknowledged request
# is in the database exactly once, with the id the client was given, and submitting an
# acknowledged request id again returns the same request (no duplicate).
#   server_kill.sh --server BIN --worker BIN --lethectl BIN --engine BIN [--long]
# LETHE_CHAOS_ROUNDS kills (2; 10 with --long), LETHE_CHAOS_CLIENTS concurrent clients (3),
# LETHE_CHAOS_REQUESTS requests per client (12; 60 with --long).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=${LETHE_CHAOS_ROUNDS:-$( ((chaos_long)) && echo 10 || echo 2)}
clients=${LETHE_CHAOS_CLIENTS:-3}
per_client=${LETHE_CHAOS_REQUESTS:-$( ((chaos_long)) && echo 60 || echo 12)}
((clients * per_client <= 400)) || fail "at most 400 requests (the data set's training items)"

use_shared_database
prepare_assets
start_server
register_models 1
note "server on port $server_port; $clients clients x $per_client requests, $rounds kills"

client_pids=()
for ((c = 0; c < clients; c++)); do
  submit_client "$c" "$per_client" "$c" "$clients" chaos-0 60 &
  client_pids+=($!)
done

restart_ms=()
for ((r = 0; r < rounds; r++)); do
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.8, 2.0), 2))')"
  t0=$(now_ms)
  kill -KILL "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  sleep 0.5
  start_server
  t1=$(now_ms)
  echo "$t0 $t1" >>"$chaos_tmp/outages"
  restart_ms+=($((t1 - t0)))
  note "round $((r + 1)): server killed and restarted (pid $server_pid)"
done

wait_clients 180
stats=$(client_stats)
note "clients: $stats"

# Retrying an acknowledged request id returns the same request.
retried=0
while read -r rid id; do
  item=$(awk -v r="$rid" '$1 == r { print $2; exit }' "$chaos_tmp"/client-*.tsv)
  res=$(submit_once "$rid" "$item" chaos-0)
  [[ "$res" == "0:$id" ]] || fail "retry of request id $rid gave \"$res\", expected the request $id"
  retried=$((retried + 1))
done < <(acked_pairs)
present=$(check_acked_present)
audit_verify

python3 - "$stats" <<PY
import json, sys
s = json.loads(sys.argv[1])
problems = []
if s["hung_calls"]: problems.append(f'{s["hung_calls"]} calls hung')
if s["other_errors"]: problems.append(f'errors other than UNAVAILABLE: {s["other_codes"]}')
if s["acknowledged"] != s["requests"]: problems.append(f'{s["requests"] - s["acknowledged"]} requests never acknowledged')
if s["ids_per_key_max"] > 1: problems.append("one request id acknowledged as two requests")
if s["unavailable_after_recovery"]: problems.append(f'{s["unavailable_after_recovery"]} UNAVAILABLE replies after the restart')
if problems: sys.exit("FAIL: " + "; ".join(problems))
s.update({"scenario": "server_kill", "kills": $rounds, "clients": $clients,
          "acknowledged_present": $present, "idempotent_retries_same_id": $retried,
          "duplicates": 0, "lost": 0,
          "restart_ms": [int(x) for x in "${restart_ms[*]}".split()],
          "seconds": $((SECONDS - chaos_t0))})
print("chaos_summary " + json.dumps(s, sort_keys=True))
PY
