#!/usr/bin/env bash
# PostgreSQL stopped (pg_ctl stop -m fast, then -m immediate, alternating) and started again
# under submit load, with lethe-server and two lethe-workers running throughout on a
# private cluster. Meanwhile clients get UNAVAILABLE, never a hang or a crash; afterwards
# every acknowledged request is present exactly once, the same server and worker processes
# (never restarted) serve new submissions and finish every job, and the audit chain verifies.
# A last restart while no one calls checks that the first calls afterwards succeed.
#   postgres_restart.sh --server BIN --worker BIN --lethectl BIN --engine BIN [--long]
# LETHE_CHAOS_ROUNDS outages (2; 8 with --long), LETHE_CHAOS_OUTAGE_S seconds down (3),
# LETHE_CHAOS_CLIENTS concurrent clients (2), LETHE_CHAOS_REQUESTS per client (10; 40).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=${LETHE_CHAOS_ROUNDS:-$( ((chaos_long)) && echo 8 || echo 2)}
outage=${LETHE_CHAOS_OUTAGE_S:-3}
clients=${LETHE_CHAOS_CLIENTS:-2}
per_client=${LETHE_CHAOS_REQUESTS:-$( ((chaos_long)) && echo 40 || echo 10)}
((clients * per_client + 4 <= 400)) || fail "at most 400 requests (the data set's training items)"

use_private_cluster
prepare_assets
start_server
register_models 1
start_worker w1
start_worker w2
started() { grep -q '"msg":"worker started"' "$chaos_tmp/worker-$1.log" 2>/dev/null; }
wait_until 60 "worker w1 started" started w1
wait_until 60 "worker w2 started" started w2
first_server=$server_pid first_w1=${worker_pids[w1]} first_w2=${worker_pids[w2]}
note "PostgreSQL in $pg_dir; $clients clients x $per_client requests; $rounds outages of ${outage}s"

client_pids=()
for ((c = 0; c < clients; c++)); do
  submit_client "$c" "$per_client" "$c" "$clients" chaos-0 90 &
  client_pids+=($!)
done

modes=(fast immediate)
down_ms=()
for ((r = 0; r < rounds; r++)); do
  sleep "$(python3 -c 'import random; print(round(random.uniform(1.0, 2.5), 2))')"
  mode=${modes[$((r % 2))]}
  t0=$(now_ms)
  pg_stop "$mode" || fail "pg_ctl stop -m $mode"
  sleep "$outage"
  pg_start || fail "restarting PostgreSQL"
  t1=$(now_ms)
  echo "$t0 $t1" >>"$chaos_tmp/outages"
  down_ms+=($((t1 - t0)))
  note "round $((r + 1)): PostgreSQL stopped (-m $mode) and restarted"
done

wait_clients 240
stats=$(client_stats)
note "clients: $stats"

# A restart while nobody calls: every pooled connection is dead, none has been used since;
# the first calls afterwards must succeed (dead idle connections are replaced, not failed).
quiet=4
pg_stop immediate || fail "pg_ctl stop -m immediate"
pg_start || fail "restarting PostgreSQL"
first_ok=0
for ((i = 0; i < quiet; i++)); do
  rid=$(uuid) item=$((clients * per_client + i)) t0=$(now_ms)
  res=$(submit_once "$rid" "$item" chaos-0)
  echo "$rid $item $res $(($(now_ms) - t0)) $t0" >>"$chaos_tmp/client-quiet.tsv"
  [[ "$res" == 0:* ]] || fail "call $((i + 1)) after a quiet restart of PostgreSQL: exit code $res"
  first_ok=$((first_ok + 1))
done
note "quiet restart: the first $first_ok calls succeeded"

# Nobody restarted the services: the same processes are alive and did the work.
for pid in "$first_server" "$first_w1" "$first_w2"; do
  kill -0 "$pid" 2>/dev/null || fail "process $pid (server or worker) died during the outages"
done
present=$(check_acked_present)
t_drain=$(now_ms)
open_requests() {
  [[ $(sql "SELECT count(*) FROM forget_requests WHERE state NOT IN ('completed', 'failed', 'cancelled')") == 0 ]]
}
wait_until 240 "every request finished by the workers after the outages" open_requests
drain_ms=$(($(now_ms) - t_drain))
failed=$(sql "SELECT count(*) FROM forget_requests WHERE state <> 'completed'")
((failed == 0)) || {
  sql "SELECT id, state, result->>'error' FROM forget_requests WHERE state <> 'completed' LIMIT 5" >&2
  fail "$failed requests did not complete"
}
dup_versions=$(sql "SELECT count(*) FROM (SELECT job FROM model_versions WHERE job IS NOT NULL GROUP BY job HAVING count(*) > 1) d")
((dup_versions == 0)) || fail "$dup_versions jobs published more than one version"
jobs=$(sql "SELECT count(*) FROM jobs WHERE state = 'succeeded'")
reconnects=$(cat "$chaos_tmp"/worker-*.log | grep -c '"msg":"listening for jobs again"' || true)
audit_verify

python3 - "$stats" <<PY
import json, sys
s = json.loads(sys.argv[1])
problems = []
if s["hung_calls"]: problems.append(f'{s["hung_calls"]} calls hung')
if s["other_errors"]: problems.append(f'errors other than UNAVAILABLE: {s["other_codes"]}')
if s["acknowledged"] != s["requests"]: problems.append(f'{s["requests"] - s["acknowledged"]} requests never acknowledged')
if s["unavailable_replies"] == 0: problems.append("no client ever saw the outage (UNAVAILABLE)")
if s["unavailable_after_recovery"]: problems.append(f'{s["unavailable_after_recovery"]} UNAVAILABLE replies after PostgreSQL was back')
if problems: sys.exit("FAIL: " + "; ".join(problems))
s.update({"scenario": "postgres_restart", "outages": $rounds, "outage_ms": [int(x) for x in "${down_ms[*]}".split()],
          "clients": $clients, "acknowledged_present": $present, "duplicates": 0, "lost": 0,
          "completed_requests": $present, "first_calls_ok_after_quiet_restart": $first_ok, "jobs_succeeded": $jobs,
          "worker_listen_reconnects": $reconnects, "drain_after_load_ms": $drain_ms,
          "processes_restarted": 0, "seconds": $((SECONDS - chaos_t0))})
print("chaos_summary " + json.dumps(s, sort_keys=True))
PY
