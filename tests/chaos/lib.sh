# Shared by the fault (chaos) scenarios in tests/chaos/: real lethe-server, lethe-worker and
# lethectl processes on loopback, a tiny synthetic model, bounded waits, and cleanup of
# every process and file on exit. Sourced, not run.
#
# Every scenario takes the same arguments:
#   SCENARIO.sh --server BIN --worker BIN --lethectl BIN --engine BIN [--assets DIR] [--long]
# --long (or LETHE_CHAOS_LONG=1) uses the counts meant for a run by hand; scenario-specific
# LETHE_CHAOS_* variables override single counts. A scenario prints one JSON line
# ("chaos_summary") with its counts and durations as its last line of output.

set -euo pipefail

chaos_src=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
server_bin="" worker_bin="" lethectl_bin="" engine_bin="" assets_root=""
chaos_long=${LETHE_CHAOS_LONG:-0}
while (($#)); do
  case "$1" in
    --server) server_bin=$2; shift ;;
    --worker) worker_bin=$2; shift ;;
    --lethectl) lethectl_bin=$2; shift ;;
    --engine) engine_bin=$2; shift ;;
    --assets) assets_root=$2; shift ;;
    --long) chaos_long=1 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for b in "$server_bin" "$worker_bin" "$lethectl_bin" "$engine_bin"; do
  [[ -x "$b" ]] || { echo "missing executable \"$b\" (--server/--worker/--lethectl/--engine)" >&2; exit 2; }
done
for tool in psql python3 timeout flock pgrep; do
  command -v "$tool" >/dev/null || { echo "$tool not found (scripts/setup)" >&2; exit 1; }
done
assets_root=${assets_root:-${LETHE_BUILD_DIR:-/tmp}}

chaos_tmp=$(mktemp -d /tmp/lethe-chaos.XXXXXX)
chmod 755 "$chaos_tmp"  # a private PostgreSQL runs as its own user below it
chaos_pg_dirs=()    # private PostgreSQL clusters to stop
chaos_drop_db=""    # database created on LETHE_TEST_DATABASE_URL, dropped at exit
chaos_admin_url=""
chaos_t0=$SECONDS

# Kills a process and everything it started (a client loop's lethectl calls), children first.
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -KILL "$1" 2>/dev/null || true
}

chaos_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  # Our background jobs still running (the shell's own list: no pid is reused by mistake).
  local running
  running=$(jobs -p)
  disown -a  # no "Killed" notices for what we kill on purpose
  for pid in $running; do kill_tree "$pid"; done
  if [[ -n "$chaos_drop_db" ]]; then
    psql "$chaos_admin_url" -qAtX -c "DROP DATABASE IF EXISTS $chaos_drop_db WITH (FORCE)" \
      >/dev/null 2>&1 || true
  fi
  local dir
  for dir in "${chaos_pg_dirs[@]}"; do "$chaos_src/scripts/pg-cluster" stop "$dir" || true; done
  if ((rc != 0)); then
    local log
    for log in "$chaos_tmp"/*.log; do
      [[ -f "$log" ]] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -15 "$log" >&2
    done
  fi
  if [[ -n "${LETHE_CHAOS_KEEP:-}" ]]; then
    echo "kept $chaos_tmp" >&2
  else
    rm -rf "$chaos_tmp"
  fi
  exit "$rc"
}
trap chaos_cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "[$((SECONDS - chaos_t0))s] $*"; }

# wait_until SECONDS WHAT CMD...: runs CMD every 0.2 s until it succeeds; fails the scenario
# with WHAT after SECONDS.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what: not within ${limit}s"
    sleep 0.2
  done
}

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Milliseconds since the epoch (for durations with sub-second resolution).
now_ms() { date +%s%3N; }

# --- PostgreSQL ---------------------------------------------------------------------------
db_url=""
# A fresh database on the suite's PostgreSQL (LETHE_TEST_DATABASE_URL), or a private
# cluster when that is not set.
use_shared_database() {
  if [[ -z "${LETHE_TEST_DATABASE_URL:-}" ]]; then
    use_private_cluster
    return
  fi
  chaos_admin_url=$LETHE_TEST_DATABASE_URL
  chaos_drop_db="lethe_chaos_$$_$RANDOM"
  psql "$chaos_admin_url" -v ON_ERROR_STOP=1 -qAtX -c "CREATE DATABASE $chaos_drop_db" >/dev/null
  db_url=$(python3 -c 'import sys, urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' \
    "$chaos_admin_url" "$chaos_drop_db")
}
# A cluster of our own (needed by scenarios that stop PostgreSQL).
pg_dir=""
use_private_cluster() {
  pg_dir="$chaos_tmp/pg"
  chaos_pg_dirs+=("$pg_dir")
  db_url=$("$chaos_src/scripts/pg-cluster" start "$pg_dir")
}
pg_ctl_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# pg_stop fast|immediate / pg_start: the private cluster, same port.
pg_stop() {
  pg_ctl_owner /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_dir/data" -m "$1" -w -t 30 stop \
    >>"$chaos_tmp/pg_ctl.log" 2>&1
}
pg_start() { "$chaos_src/scripts/pg-cluster" start "$pg_dir" >/dev/null; }

sql() { psql "$db_url" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# --- assets: a tiny synthetic data set, evaluator and GAN, made once per build tree --------
assets=""
prepare_assets() {
  assets="$assets_root/chaos-assets-v1"
  mkdir -p "$assets_root"
  # Scenarios may run in parallel: one makes the assets, the others wait for it.
  exec 9>"$assets_root/chaos-assets-v1.lock"
  flock -w 600 9 || fail "waiting for another scenario to make the tiny model"
  if [[ -f "$assets/ready" ]]; then exec 9>&-; return; fi
  rm -rf "$assets"
  mkdir -p "$assets/data"
  # 8x8 gray images, 10 classes: a bright 2x2 block at a class-specific place over noise.
  python3 - "$assets/data" <<'PY'
import random, struct, sys
out = sys.argv[1]
def write(stem, per_class, seed):
    rng = random.Random(seed)
    n = per_class * 10
    images = bytearray(struct.pack(">IIII", 0x803, n, 8, 8))
    labels = bytearray(struct.pack(">II", 0x801, n))
    for i in range(n):
        label = i % 10
        px = [rng.randint(0, 40) for _ in range(64)]
        row, col = (label // 5) * 4 + 1, label % 5 + 1
        for dr in range(2):
            for dc in range(2):
                px[(row + dr) * 8 + col + dc] = rng.randint(180, 255)
        images += bytes(px)
        labels.append(label)
    open(f"{out}/{stem}-images-idx3-ubyte", "wb").write(images)
    open(f"{out}/{stem}-labels-idx1-ubyte", "wb").write(labels)
write("train", 40, 7)
write("t10k", 10, 8)
PY
  (
    export OMP_NUM_THREADS=1
    "$engine_bin" train-evaluator --preset tiny --data "$assets/data" --resolution 8 \
      --iterations 150 --batch 64 --seed 3 --threads 1 --no-augment --out "$assets/evaluator"
    "$engine_bin" train --preset tiny --data "$assets/data" --resolution 8 --iterations 150 \
      --batch 16 --seed 5 --threads 1 --log-every 1000 --out "$assets/model"
  ) >"$chaos_tmp/assets.log" 2>&1 || fail "making the tiny model (see assets.log)"
  # The training manifest the server registers: id, SHA-256 of the raw pixels, label, split.
  python3 - "$assets" <<'PY'
import hashlib, sys
a = sys.argv[1]
with open(a + "/dataset.tsv", "w") as out:
    for stem, split in (("train", "train"), ("t10k", "test")):
        px = open(f"{a}/data/{stem}-images-idx3-ubyte", "rb").read()[16:]
        labels = open(f"{a}/data/{stem}-labels-idx1-ubyte", "rb").read()[8:]
        for i, label in enumerate(labels):
            digest = hashlib.sha256(px[i * 64:(i + 1) * 64]).hexdigest()
            out.write(f"{split}/{i}\t{digest}\t{label}\t{split}\n")
PY
  echo ok >"$assets/ready"
  exec 9>&-
}

# --- processes ----------------------------------------------------------------------------
state_dir="" store_dir="" server_port="" server_pid="" admin_token="" dpo_token=""
declare -A worker_pids=()

server_flags() {
  echo --database-url="$db_url" --state-dir="$state_dir" --model-store="$store_dir"
}

# start_server: on $server_port (picked once, so clients reach a restarted server there).
start_server() {
  state_dir=${state_dir:-$chaos_tmp/state}
  store_dir=${store_dir:-$chaos_tmp/store}
  server_port=${server_port:-$(free_port)}
  "$server_bin" serve --listen="127.0.0.1:$server_port" --metrics-listen= --insecure \
    $(server_flags) --log-level=warn >>"$chaos_tmp/server.out" 2>>"$chaos_tmp/server.log" &
  server_pid=$!
  local deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$server_port") 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || fail "lethe-server exited during start"
    ((SECONDS < deadline)) || fail "lethe-server did not listen within 60s"
    sleep 0.1
  done
}

# wait_clients SECONDS: until every submit client in client_pids has exited (bounded).
wait_clients() {
  local deadline=$((SECONDS + $1)) pid
  for pid in "${client_pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      ((SECONDS < deadline)) || fail "clients did not finish within $1s"
      sleep 0.2
    done
    wait "$pid" || true
  done
}

ctl() {
  "$lethectl_bin" --server "127.0.0.1:$server_port" --insecure "$@"
}

# Tokens and N models (chaos-0..N-1) registered from the tiny checkpoint.
register_models() {
  local n=$1 i
  admin_token=$("$server_bin" token create --role admin --name chaos-admin $(server_flags) \
    2>>"$chaos_tmp/server.log") || fail "lethe-server token create"
  dpo_token=$(ctl --timeout 10s --token "$admin_token" token create --name chaos-dpo --role dpo \
    --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])') ||
    fail "token create (dpo)"
  for ((i = 0; i < n; i++)); do
    ctl --timeout 30s --token "$admin_token" models register --name "chaos-$i" \
      --checkpoint "$assets/model" --dataset-manifest "$assets/dataset.tsv" --item-width 8 \
      --item-height 8 >/dev/null 2>>"$chaos_tmp/lethectl.log" || fail "models register chaos-$i"
  done
}

# worker_args ID [FLAG...]: the flags of a worker; later flags override earlier ones.
worker_args() {
  local id=$1
  shift
  echo --database-url="$db_url" --model-store="$store_dir" --evaluator="$assets/evaluator" \
    --worker-id="$id" --lease-seconds=3 --heartbeat-seconds=0.5 --poll-seconds=1 --threads=1 \
    --inversion-steps=10 --eval-every=5 --eval-samples=32 --metric-samples=48 \
    --retrain-iterations=20 --progress-interval-seconds=0.2 --retry-initial-seconds=0.1 \
    --retry-max-seconds=1 --metrics-listen= --work-dir="$chaos_tmp/work-$id" --log-level="${LETHE_CHAOS_WORKER_LOG:-info}" "$@"
}

# start_worker ID [FLAG...]
start_worker() {
  local id=$1
  OMP_NUM_THREADS=1 "$worker_bin" $(worker_args "$@") >>"$chaos_tmp/worker-$id.log" 2>&1 &
  worker_pids[$id]=$!
}

# Settings that make a job on the tiny model take seconds: the service is under test here,
# not the method.
easy_params=(--destination forget-auc --destination-threshold 0.51 --fake-label -1)

# submit_once RID ITEM MODEL: one bounded submission; prints lethectl's exit code, and the
# request's id after a colon when it was acknowledged. 124 means the call hung.
submit_once() {
  local rid=$1 item=$2 model=$3 out rc=0
  out=$(timeout 20 "$lethectl_bin" --server "127.0.0.1:$server_port" --insecure --timeout 5s \
    --token "$dpo_token" submit item --model "$model" --item "train/$item" --request-id "$rid" \
    --legal-ground consent-withdrawn "${easy_params[@]}" --json 2>>"$chaos_tmp/clients.err") ||
    rc=$?
  if ((rc == 0)); then
    echo "0:$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["id"])' <<<"$out")"
  else
    echo "$rc"
  fi
}

# submit_client NAME COUNT FIRST_ITEM STRIDE MODEL SECONDS_PER_REQUEST: COUNT requests, each
# retried with the same request id while the service is unavailable. Every attempt is a
# line "RID ITEM RC[:ID] MS START_MS" in $chaos_tmp/client-NAME.tsv.
submit_client() {
  local name=$1 count=$2 item=$3 stride=$4 model=$5 limit=$6 i rid res t0 deadline
  local file="$chaos_tmp/client-$name.tsv"
  : >"$file"
  for ((i = 0; i < count; i++)); do
    rid=$(uuid)
    deadline=$((SECONDS + limit))
    while true; do
      t0=$(now_ms)
      res=$(submit_once "$rid" "$item" "$model")
      echo "$rid $item $res $(($(now_ms) - t0)) $t0" >>"$file"
      [[ "$res" == 0:* ]] && break
      # Anything but UNAVAILABLE (6) is final: the checks count it as an error.
      [[ "$res" == 6 ]] || break
      ((SECONDS < deadline)) || break
      sleep 0.3
    done
    item=$((item + stride))
  done
}

# Reads the client files: acknowledged, unavailable, hung and other attempts, and the
# requests that were never acknowledged. Outages (lines "DOWN_MS UP_MS" in
# $chaos_tmp/outages) let it count UNAVAILABLE replies to calls that neither overlapped an
# outage nor started within 0.5 s after one: those mean the service did not recover.
client_stats() {
  touch "$chaos_tmp/outages"
  cat "$chaos_tmp"/client-*.tsv | python3 -c '
import json, sys
outages = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
acked, unavailable, late, hung, other, slowest = {}, 0, 0, 0, [], 0
rids = set()
for line in sys.stdin:
    rid, item, res, ms, start = line.split()
    ms, start = int(ms), int(start)
    rids.add(rid)
    slowest = max(slowest, ms)
    if res.startswith("0:"):
        acked.setdefault(rid, set()).add(res[2:])
    elif res == "6":
        unavailable += 1
        if outages and all(start + ms < down or start > up + 500 for down, up in outages):
            late += 1
    elif res == "124":
        hung += 1
    else:
        other.append(res)
print(json.dumps({"requests": len(rids), "acknowledged": len(acked), "unavailable_replies": unavailable,
                  "unavailable_after_recovery": late,
                  "hung_calls": hung, "other_errors": len(other), "other_codes": sorted(set(other)),
                  "slowest_call_ms": slowest,
                  "ids_per_key_max": max([len(v) for v in acked.values()] or [0])}))' "$chaos_tmp/outages"
}

# Acknowledged request ids, one "RID ID" per line.
acked_pairs() {
  cat "$chaos_tmp"/client-*.tsv | awk '$3 ~ /^0:/ { sub(/^0:/, "", $3); print $1, $3 }' | sort -u
}

# Checks that every acknowledged request is in the database under its request id, exactly
# once, with the id the client was given. Prints the number checked.
check_acked_present() {
  acked_pairs >"$chaos_tmp/acked.txt"
  sql "COPY (SELECT idempotency_key::text, id::text FROM forget_requests) TO STDOUT" |
    sort >"$chaos_tmp/db_requests.txt"
  python3 - "$chaos_tmp/acked.txt" "$chaos_tmp/db_requests.txt" <<'PY'
import collections, sys
acked = [l.split() for l in open(sys.argv[1]) if l.strip()]
rows = [l.split("\t") for l in open(sys.argv[2]).read().splitlines() if l.strip()]
by_key = collections.defaultdict(list)
for key, rid in rows:
    by_key[key].append(rid)
dups = {k: v for k, v in by_key.items() if len(v) > 1}
if dups:
    sys.exit(f"duplicate requests for one request id: {dups}")
lost = [(k, i) for k, i in acked if by_key.get(k) != [i]]
if lost:
    sys.exit(f"{len(lost)} acknowledged requests missing or changed, e.g. {lost[:3]}")
print(len(acked))
PY
}

audit_verify() {
  ctl --timeout 30s --token "$admin_token" audit verify >"$chaos_tmp/audit.out" 2>&1 ||
    { cat "$chaos_tmp/audit.out" >&2; fail "lethectl audit verify"; }
}
