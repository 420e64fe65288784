#!/usr/bin/env bash
# The audit transparency log's costs (bench/audit_transparency_bench.cc) at 10^6 records on
# a private PostgreSQL cluster, then the offline check of the report it wrote
# (docs/examples/verify_export.py, Python + python3-cryptography), timed over 5 runs.
#   bench/audit_transparency.sh [BUILD_DIR] [RECORDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
records=${2:-1000000}
pg=$(mktemp -d /tmp/lethe-audit-bench-pg.XXXXXX)
report=$(mktemp -d /tmp/lethe-audit-bench-report.XXXXXX)
trap '"$root/scripts/pg-cluster" stop "$pg" >/dev/null || true; rm -rf "$pg" "$report"' EXIT
url=$("$root/scripts/pg-cluster" start "$pg")
"$build/bench/audit_transparency_bench" --database-url "$url" --records "$records" \
  --report-dir "$report/out"
python3 - "$root/docs/examples/verify_export.py" "$report/out" <<'PY'
import subprocess, sys, time
script, out = sys.argv[1], sys.argv[2]
times = []
for _ in range(5):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, script, out, "--key", out + "/keys.txt"],
                       capture_output=True, text=True)
    times.append(time.perf_counter() - t)
    if r.returncode != 0 or not r.stdout.strip().endswith("OK"):
        sys.exit("offline check failed:\n" + r.stdout + r.stderr)
print('{"offline_check_seconds_min": %.3f, "offline_check_seconds_median": %.3f}'
      % (min(times), sorted(times)[2]))
PY
