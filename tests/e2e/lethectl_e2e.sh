#!/usr/bin/env bash
# End to end: the real lethe-server on a fresh PostgreSQL database, driven only through
# lethectl as an operator and a data-protection officer would drive it.
#   tests/e2e/lethectl_e2e.sh LETHE_SERVER_BINARY LETHECTL_BINARY
# Needs LETHE_TEST_DATABASE_URL (scripts/test exports it): a database on a cluster where
# this user may CREATE DATABASE. Each run creates its own database and drops it at exit.
set -euo pipefail

server_bin=${1:?usage: lethectl_e2e.sh LETHE_SERVER LETHECTL}
lethectl_bin=${2:?usage: lethectl_e2e.sh LETHE_SERVER LETHECTL}
if [[ -z "${LETHE_TEST_DATABASE_URL:-}" ]]; then
  echo "FAIL: LETHE_TEST_DATABASE_URL is not set (scripts/test sets it; or start a cluster" \
    "with scripts/pg-cluster start DIR)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/lethectl-e2e.XXXXXX)
db="lethectl_e2e_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
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
  if [[ $rc -ne 0 && -f "$work/server.log" ]]; then
    echo "--- last lines of the server log:" >&2
    tail -20 "$work/server.log" >&2
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# json FILE PYTHON_EXPRESSION: evaluates the expression with `d` bound to the document.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

psql "$admin_url" -v ON_ERROR_STOP=1 -qAtX -c "CREATE DATABASE ${db}" >/dev/null

# --- a small fake model: a checkpoint directory and its training manifest ---------------
step "writing a fake checkpoint and data set manifest"
ckpt="$work/checkpoint"
mkdir -p "$ckpt"
python3 - "$ckpt" "$work/dataset.tsv" <<'EOF'
import hashlib, json, os, struct, sys, zlib
ckpt, dataset = sys.argv[1], sys.argv[2]

def png_gray(width, height, pixels):
    raw = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

with open(os.path.join(ckpt, "generator.pt"), "wb") as f:
    f.write(os.urandom(300000))  # several download chunks
with open(os.path.join(ckpt, "sample.png"), "wb") as f:
    f.write(png_gray(64, 64, [(x ^ y) & 255 for y in range(64) for x in range(64)]))
lines = []
for i in range(20):
    lines.append("train/%d\t%s\t%d\ttrain" % (i, hashlib.sha256(b"train-%d" % i).hexdigest(), i % 10))
for i in range(5):
    lines.append("test/%d\t%s\t%d\ttest" % (i, hashlib.sha256(b"test-%d" % i).hexdigest(), i % 10))
text = "\n".join(lines) + "\n"
with open(dataset, "w") as f:
    f.write(text)
gen = hashlib.sha256(open(os.path.join(ckpt, "generator.pt"), "rb").read()).hexdigest()
manifest = {"format_version": 1,
            "config": {"num_classes": 10, "resolution": 32, "img_channels": 1, "preset": "tiny"},
            "dataset": {"name": "e2e/synthetic", "fingerprint": hashlib.sha256(text.encode()).hexdigest()},
            "files": {"generator.pt": gen}}
with open(os.path.join(ckpt, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2, sort_keys=True)
EOF

# --- the server ----------------------------------------------------------------------------
openssl genpkey -algorithm ed25519 -out "$work/audit-signing.pem" 2>/dev/null ||
  fail "openssl genpkey -algorithm ed25519"
openssl pkey -in "$work/audit-signing.pem" -pubout -out "$work/audit-signing.pub" 2>/dev/null
server_flags=(--database-url "$db_url" --state-dir "$work/state" --model-store "$work/store"
  --subject-salt e2e-subject-salt-0123456789 --audit-signing-key "$work/audit-signing.pem"
  --audit-log-origin e2e.example/audit)
step "creating the first admin token with lethe-server token create"
admin_token=$("$server_bin" token create --role admin --name e2e-admin "${server_flags[@]}" \
  2>"$work/token-create.log") || {
  cat "$work/token-create.log" >&2
  fail "lethe-server token create"
}
[[ "$admin_token" == lethe_* ]] || fail "unexpected admin secret format: $admin_token"

step "starting lethe-server"
: >"$work/server.out"  # exists before the poll below reads it
"$server_bin" serve --listen 127.0.0.1:0 --metrics-listen=127.0.0.1:0 --insecure \
  --auth-cache-ms 0 "${server_flags[@]}" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "lethe-server exited during start"
  sleep 0.2
done
[[ -n "$port" ]] || fail "lethe-server did not report its port within 60 s"
echo "lethe-server on port $port"

export LETHE_SERVER="127.0.0.1:$port" LETHE_INSECURE=1
unset LETHE_TOKEN LETHE_TOKEN_FILE LETHE_TLS_CA LETHE_CLIENT_CERT LETHE_CLIENT_KEY
admin() { "$lethectl_bin" --timeout 30s --token "$admin_token" "$@"; }
dpo() { "$lethectl_bin" --timeout 30s --token "$dpo_token" "$@"; }

# expect_exit CODE NEEDLE CMD...: CMD must exit with CODE and print NEEDLE on stderr.
expect_exit() {
  local want=$1 needle=$2 rc=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [[ $rc -ne $want ]]; then
    cat "$work/out" "$work/err" >&2
    fail "'$*' exited $rc, expected $want"
  fi
  grep -qF -- "$needle" "$work/err" || {
    cat "$work/err" >&2
    fail "'$*': stderr lacks '$needle'"
  }
  [[ $(wc -l <"$work/err") -ge 1 ]] || fail "no error line"
}

step "whoami (admin)"
admin whoami --json >"$work/whoami.json"
[[ $(json "$work/whoami.json" 'd["role"]') == ROLE_ADMIN ]] || fail "admin whoami"

step "models register, list, get, download, sample"
admin models register --name e2e-model --checkpoint "$ckpt" \
  --dataset-manifest "$work/dataset.tsv" --item-width 28 --item-height 28 --json >"$work/model.json"
[[ $(json "$work/model.json" 'd["name"]') == e2e-model ]] || fail "register: name"
[[ $(json "$work/model.json" 'd["item_width"]') == 28 ]] || fail "register: item_width"
version=$(json "$work/model.json" 'd["production_version_id"]')
[[ "$version" != 0 ]] || fail "register: no production version"
admin models list --json >"$work/models.json"
[[ $(json "$work/models.json" '[m["name"] for m in d["models"]]') == "['e2e-model']" ]] ||
  fail "models list"
admin models get e2e-model >"$work/model.txt"
grep -q "active" "$work/model.txt" || fail "models get: no active version"
admin models download e2e-model --out "$work/download" --json >"$work/download.json"
cmp "$ckpt/generator.pt" "$work/download/generator.pt" || fail "download: generator.pt differs"
cmp "$ckpt/manifest.json" "$work/download/manifest.json" || fail "download: manifest differs"
[[ $(json "$work/download.json" 'd["verified"]') == True ]] || fail "download: not verified"
admin models sample e2e-model --out "$work/sample.png" >/dev/null
cmp "$ckpt/sample.png" "$work/sample.png" || fail "sample: PNG differs"
expect_exit 3 "NOT_FOUND" admin models get no-such-model

step "token create (dpo) and whoami"
admin token create --name e2e-dpo --role dpo --json >"$work/dpo-token.json"
dpo_token=$(json "$work/dpo-token.json" 'd["secret"]')
dpo_id=$(json "$work/dpo-token.json" 'd["token"]["id"]')
dpo whoami --json >"$work/whoami-dpo.json"
[[ $(json "$work/whoami-dpo.json" 'd["role"]') == ROLE_DPO ]] || fail "dpo whoami role"
[[ $(json "$work/whoami-dpo.json" 'd["name"]') == e2e-dpo ]] || fail "dpo whoami name"

step "a dpo may not create tokens"
expect_exit 4 "PERMISSION_DENIED" dpo token create --name sneaky --role admin

step "submit item by id; the same --request-id twice returns the same request"
rid=$(python3 -c 'import uuid; print(uuid.uuid4())')
dpo submit item --model e2e-model --item train/3 train/4 --request-id "$rid" \
  --legal-ground consent-withdrawn --subject ticket-4711 --json >"$work/submit1.json"
dpo submit item --model e2e-model --item train/3 train/4 --request-id "$rid" \
  --legal-ground consent-withdrawn --subject ticket-4711 --json >"$work/submit2.json"
id1=$(json "$work/submit1.json" 'd["id"]')
[[ -n "$id1" ]] || fail "submit: no id"
[[ $(json "$work/submit2.json" 'd["id"]') == "$id1" ]] || fail "retry with the same key gave another request"
[[ $(json "$work/submit1.json" 'd["request_id"]') == "$rid" ]] || fail "submit: request_id"
[[ $(json "$work/submit1.json" 'd["item_count"]') == 2 ]] || fail "submit: item_count"
state=$(json "$work/submit1.json" 'd["state"]')
[[ "$state" == REQUEST_STATE_RECEIVED || "$state" == REQUEST_STATE_QUEUED ]] ||
  fail "submit: state $state"

step "the same --request-id with another body is refused"
expect_exit 5 "IDEMPOTENCY_KEY_REUSED" dpo submit item --model e2e-model --item train/5 \
  --request-id "$rid" --legal-ground consent-withdrawn --subject ticket-4711

step "submit without --request-id prints the generated one"
dpo submit class --model e2e-model --class 7 --legal-ground objection --json >"$work/submit3.json" 2>"$work/submit3.err"
id2=$(json "$work/submit3.json" 'd["id"]')
generated=$(json "$work/submit3.json" 'd["request_id"]')
grep -qF -- "--request-id $generated" "$work/submit3.err" ||
  fail "the generated request id was not printed"

step "submit with an unknown item id fails with NOT_FOUND"
expect_exit 3 "NOT_FOUND" dpo submit item --model e2e-model --item train/999999 \
  --legal-ground objection
grep -q "reason=" "$work/err" || fail "no machine-readable reason in: $(cat "$work/err")"
[[ $(wc -l <"$work/err") -le 2 ]] || fail "error report is not short: $(cat "$work/err")"

step "get"
dpo get "$id1" --json >"$work/get.json"
[[ $(json "$work/get.json" 'sorted(i["item_id"] for i in d["items"])') == "['train/3', 'train/4']" ]] ||
  fail "get: items"
[[ $(json "$work/get.json" 'len(d["subject_hash"])') == 64 ]] || fail "get: subject hash"
dpo get "$id1" | grep -q "train/3" || fail "get: table lacks the item"
expect_exit 3 "NOT_FOUND" dpo get 00000000-0000-4000-8000-000000000000

step "list --json (and --all across pages)"
dpo list --json >"$work/list.json"
python3 - "$work/list.json" "$id1" "$id2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ids = [r["id"] for r in d["forget_requests"]]
assert sorted(ids) == sorted(sys.argv[2:4]), ids
assert ids[0] == sys.argv[3], "newest first"
EOF
dpo list --all --page-size 1 --json >"$work/list-all.json"
[[ $(json "$work/list-all.json" 'len(d["forget_requests"])') == 2 ]] || fail "list --all"
dpo list --model e2e-model --state cancelled --json >"$work/list-none.json"
[[ $(json "$work/list-none.json" 'len(d["forget_requests"])') == 0 ]] || fail "list filter"

step "cancel; cancelling again is a conflict; watch ends with the cancelled status"
dpo cancel "$id2" --reason "submitted by mistake" --json >"$work/cancel.json"
[[ $(json "$work/cancel.json" 'd["state"]') == REQUEST_STATE_CANCELLED ]] || fail "cancel"
expect_exit 5 "FAILED_PRECONDITION" dpo cancel "$id2"
rc=0
dpo watch "$id2" >"$work/watch.txt" 2>&1 || rc=$?
[[ $rc -eq 11 ]] || fail "watch of a cancelled request exited $rc"
grep -q "cancelled" "$work/watch.txt" || fail "watch output: $(cat "$work/watch.txt")"

step "extend: operators only"
expect_exit 4 "PERMISSION_DENIED" dpo extend "$id1" --days 30 --reason "complex case"
admin extend "$id1" --days 30 --reason "complex case" --json >"$work/extend.json"
python3 - "$work/submit1.json" "$work/extend.json" <<'EOF'
import json, sys
from datetime import datetime
before = json.load(open(sys.argv[1]))["due_at"]
after = json.load(open(sys.argv[2]))
p = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
assert (p(after["due_at"]) - p(before)).days == 30, (before, after["due_at"])
assert after["deadline_extension_reason"] == "complex case"
EOF

step "audit list, verify, export"
dpo audit list --request "$id1" --json >"$work/audit.json"
python3 - "$work/audit.json" "$id1" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
assert recs and all(r["request_id"] == sys.argv[2] for r in recs), recs
assert "request.received" in [r["action"] for r in recs], [r["action"] for r in recs]
EOF
admin audit verify >"$work/verify.txt"
grep -q "audit chain OK" "$work/verify.txt" || fail "audit verify: $(cat "$work/verify.txt")"
dpo audit export "$id1" --out "$work/report" >"$work/export.txt"
for f in report.json report.md; do [[ -s "$work/report/$f" ]] || fail "export: no $f"; done
python3 - "$work/report/report.json" "$id1" <<'EOF'
import hashlib, json, sys
report = json.load(open(sys.argv[1]))
assert report["request"]["id"] == sys.argv[2]
assert sorted(i["item_id"] for i in report["items"]) == ["train/3", "train/4"]
records = report["audit"]["records"]
assert records, "no audit records in the report"
# Recompute every hash from the report alone, as its reader would.
for r in records:
    c = json.loads(r["canonical_json"])
    assert c == {k: r[k] for k in ("action", "actor", "at", "payload", "request_id", "seq")}, r
    assert hashlib.sha256((r["prev_hash"] + r["canonical_json"]).encode()).hexdigest() == r["hash"], r
assert report["audit"]["all_hashes_match"] is True
assert "subject_reference" not in json.dumps(report) and "ticket-4711" not in json.dumps(report)
EOF
admin audit export "$id1" --out "$work/report-admin" --json >"$work/export.json"
[[ $(json "$work/export.json" 'd["chain_verified"]') == True ]] || fail "admin export: chain"

step "transparency log: checkpoint, verify --since, offline check of the export"
dpo audit checkpoint --out "$work/checkpoint-1.txt" >"$work/checkpoint.out"
grep -q "signed by e2e.example/audit+" "$work/checkpoint.out" ||
  fail "checkpoint: $(cat "$work/checkpoint.out")"
head -1 "$work/checkpoint-1.txt" | grep -qx "e2e.example/audit" || fail "checkpoint origin line"
# The operator publishes the public key; the DPO pins it.
dpo audit verify --since "$work/checkpoint-1.txt" --key "$work/audit-signing.pub" \
  >"$work/since.txt" || fail "verify --since right after the checkpoint: $(cat "$work/since.txt")"
grep -q "^ok: the audit log" "$work/since.txt" || fail "verify --since: $(cat "$work/since.txt")"
admin audit keys --out "$work/keys.txt" >/dev/null
grep -q "^e2e.example/audit+[0-9a-f]\{8\}+" "$work/keys.txt" ||
  fail "audit keys: $(cat "$work/keys.txt")"
[[ $(json "$work/report/report.json" 'd["audit"]["transparency"]["all_proofs_verified"]') == True ]] ||
  fail "export: inclusion proofs not verified"
verifier="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/docs/examples/verify_export.py"
python3 "$verifier" "$work/report" --key "$work/keys.txt" >"$work/offline.txt" ||
  fail "offline verification of the export: $(cat "$work/offline.txt")"
grep -q "^OK$" "$work/offline.txt" || fail "offline verification: $(cat "$work/offline.txt")"
python3 "$verifier" "$work/report" --key "$work/audit-signing.pub" >"$work/offline-pem.txt" ||
  fail "offline verification with the PEM key: $(cat "$work/offline-pem.txt")"
# A report whose record was edited after the export fails the offline check.
python3 - "$work/report/report.json" "$work/report-edited.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rec = r["audit"]["records"][0]
rec["payload"]["edited"] = True
fields = {k: rec[k] for k in ("action", "actor", "at", "payload", "request_id", "seq")}
rec["canonical_json"] = json.dumps(fields, sort_keys=True, separators=(",", ":"))
json.dump(r, open(sys.argv[2], "w"))
EOF
rc=0
python3 "$verifier" "$work/report-edited.json" --key "$work/keys.txt" >"$work/offline2.txt" || rc=$?
[[ $rc -eq 1 ]] || fail "offline check of an edited report exited $rc: $(cat "$work/offline2.txt")"
# A checkpoint checked against a key nobody published: exit 7.
openssl genpkey -algorithm ed25519 -out "$work/other.pem" 2>/dev/null
openssl pkey -in "$work/other.pem" -pubout -out "$work/other.pub" 2>/dev/null
expect_exit 7 "unknown key" dpo audit verify --since "$work/checkpoint-1.txt" --key "$work/other.pub"

step "transparency log: deleting the newest records and moving the head back is detected"
dpo audit checkpoint --out "$work/checkpoint-2.txt" >/dev/null
keep=$(($(psql "$db_url" -qAtX -c "SELECT last_seq FROM audit_head") - 1))
psql "$db_url" -v ON_ERROR_STOP=1 -qAtX >/dev/null <<SQL
BEGIN;
DELETE FROM audit_log WHERE seq > $keep;
DELETE FROM audit_tree WHERE (idx + 1) * (1::bigint << level) > $keep;
DELETE FROM audit_checkpoints WHERE tree_size > $keep;
UPDATE audit_head SET last_seq = $keep, last_hash = (SELECT hash FROM audit_log WHERE seq = $keep);
COMMIT;
SQL
# The hash chain alone does not notice...
admin audit verify >"$work/verify-cut.txt" || fail "chain verify: $(cat "$work/verify-cut.txt")"
# ...the saved checkpoint does.
rc=0
dpo audit verify --since "$work/checkpoint-2.txt" --key "$work/audit-signing.pub" \
  >"$work/since2.txt" 2>&1 || rc=$?
[[ $rc -eq 7 ]] || fail "verify --since after truncation exited $rc: $(cat "$work/since2.txt")"
grep -q "removed from its end" "$work/since2.txt" || fail "verify --since: $(cat "$work/since2.txt")"

step "token list and revoke: a revoked token is refused"
admin token list --json >"$work/tokens.json"
[[ $(json "$work/tokens.json" 'sorted(t["name"] for t in d["tokens"])') == "['e2e-admin', 'e2e-dpo']" ]] ||
  fail "token list"
admin token revoke "$dpo_id" >/dev/null
expect_exit 4 "UNAUTHENTICATED" dpo whoami

step "a tampered audit record is detected by verify and by export"
psql "$db_url" -v ON_ERROR_STOP=1 -qAtX -c \
  "UPDATE audit_log SET payload = '{\"tampered\": true}'::jsonb
   WHERE seq = (SELECT min(seq) FROM audit_log WHERE request_id = '$id1')" >/dev/null
rc=0
admin audit verify >"$work/verify2.txt" || rc=$?
[[ $rc -eq 7 ]] || fail "audit verify after tampering exited $rc"
grep -q "BROKEN" "$work/verify2.txt" || fail "verify output: $(cat "$work/verify2.txt")"
expect_exit 7 "does not verify" admin audit export "$id1" --out "$work/report-tampered"
grep -q "MISMATCH" "$work/report-tampered/report.md" || fail "tampered report lacks MISMATCH"

step "usage errors exit 2 without calling the server"
expect_exit 2 "unknown command" "$lethectl_bin" frobnicate
expect_exit 2 "--model is required" "$lethectl_bin" submit item --item train/1

echo "PASS: lethectl end to end"
