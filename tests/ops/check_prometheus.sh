#!/usr/bin/env bash
# deploy/prometheus.yml and deploy/alerts.yml: promtool accepts both, the alert unit tests
# pass, every alert links to a section of docs/operator-guide.md that exists, and the
# PromQL name extraction used by the live metrics test finds what it must.
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}
command -v promtool >/dev/null || { echo "promtool not found (scripts/setup installs prometheus)" >&2; exit 1; }

cd "$root/deploy"
promtool check config prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts_test.yml

# Runbook links: each alert's annotation names an anchor of a heading in the guide.
"$python" - "$root/deploy/alerts.yml" "$root/docs/operator-guide.md" <<'PY'
import re, sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
guide = open(sys.argv[2]).read()
def slug(h):
    return re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
anchors = {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", guide, re.M)}
bad = []
for r in rules:
    a = r.get("annotations", {})
    for key in ("summary", "description", "runbook"):
        if not a.get(key):
            bad.append(f"{r['alert']}: no {key} annotation")
    if r.get("labels", {}).get("severity") not in ("warning", "critical"):
        bad.append(f"{r['alert']}: severity must be warning or critical")
    link = a.get("runbook", "")
    if not link.startswith("docs/operator-guide.md#") or link.split("#", 1)[1] not in anchors:
        bad.append(f"{r['alert']}: runbook {link!r} is no heading of docs/operator-guide.md")
    if link.split("#", 1)[-1] != r["alert"].lower():
        bad.append(f"{r['alert']}: runbook anchor should be #{r['alert'].lower()}")
if len(rules) < 10:
    bad.append(f"only {len(rules)} alerts found")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "runbook links: ok"

# The Grafana dashboard: its data source is the provisioned one, panel ids are unique and
# panels neither overlap nor leave the 24-column grid; the provider loads its directory.
"$python" - "$root/deploy/grafana" <<'PY'
import json, sys, yaml
base = sys.argv[1]
ds = yaml.safe_load(open(f"{base}/provisioning/datasources/prometheus.yml"))["datasources"]
uids = {d["uid"] for d in ds if d.get("type") == "prometheus"}
prov = yaml.safe_load(open(f"{base}/provisioning/dashboards/lethe.yml"))["providers"]
dash = json.load(open(f"{base}/dashboards/lethe.json"))
bad = []
if not dash.get("uid") or not dash.get("title"):
    bad.append("dashboard has no uid or title")
if not any(p.get("options", {}).get("path") == "/var/lib/grafana/dashboards" for p in prov):
    bad.append("dashboard provider does not load /var/lib/grafana/dashboards")
ids, cells = set(), {}
for p in dash["panels"]:
    if p["id"] in ids:
        bad.append(f"panel id {p['id']} repeated")
    ids.add(p["id"])
    g = p["gridPos"]
    if g["x"] < 0 or g["x"] + g["w"] > 24:
        bad.append(f"panel {p['title']!r} leaves the grid")
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            if (x, y) in cells:
                bad.append(f"panels {cells[(x, y)]!r} and {p['title']!r} overlap")
                break
            cells[(x, y)] = p["title"]
        else:
            continue
        break
    if p["type"] == "row":
        continue
    if not p.get("targets"):
        bad.append(f"panel {p['title']!r} has no query")
    for t in [p] + p.get("targets", []):
        uid = (t.get("datasource") or {}).get("uid")
        if uid not in uids:
            bad.append(f"panel {p['title']!r} uses data source {uid!r}, not one of {sorted(uids)}")
for a in dash.get("annotations", {}).get("list", []):
    if a.get("expr") and a["datasource"].get("uid") not in uids:
        bad.append(f"annotation {a.get('name')!r} uses another data source")
for b in bad:
    print(b, file=sys.stderr)
print(f"dashboard: {'FAILED' if bad else 'ok'} ({len(ids)} panels)")
sys.exit(1 if bad else 0)
PY

# The extraction that the live test relies on: known names in, label names out.
names=$("$python" "$root/tests/ops/promql_names.py" list alerts.yml grafana/dashboards/lethe.json)
for want in lethe_forget_requests_overdue lethe_rpc_requests_total lethe_rpc_duration_seconds_bucket \
            lethe_worker_last_heartbeat_timestamp_seconds lethe_worker_versions_published_total; do
  grep -qx "$want" <<<"$names" || { echo "extraction lost $want" >&2; exit 1; }
done
for label in le method state code phase outcome model version metric instance job up; do
  if grep -qx "$label" <<<"$names"; then echo "extraction took label/builtin '$label' for a metric" >&2; exit 1; fi
done
echo "promql extraction: ok ($(wc -l <<<"$names") names)"
