#!/usr/bin/python3
"""Metric names used by Lethe's alert rules and Grafana dashboard, and checks of them.

    promql_names.py list ALERTS.yml DASHBOARD.json
        prints every metric name the PromQL of the rules and the dashboard queries use
    promql_names.py check SCRAPE_FILE [SCRAPE_FILE...] --rules ALERTS.yml \
            --dashboard DASHBOARD.json [--only-prefix P] [--skip-prefix P]
        fails (exit 1) naming every used metric that no scrape exports

A name counts as exported when a scrape has a sample of that exact name or declares it
in a `# TYPE` line; for `X_bucket`, `X_sum` and `X_count` the family `X` must be a
histogram (or, for _sum/_count, a summary). Series that Prometheus itself creates
(`up`, `scrape_*`, `ALERTS*`) are not looked for in scrapes.
"""
import argparse
import json
import re
import sys

import yaml

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "inf", "nan", "atan2",
}
PROMETHEUS_SERIES = re.compile(r"^(up|scrape_[a-z_]+|ALERTS|ALERTS_FOR_STATE)$")
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr):
    """Metric names in one PromQL expression (or a Grafana label_values() query)."""
    names = set()
    # Grafana template queries: label_values(metric, label) / label_values(label).
    for m in re.finditer(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(,|\{)", expr):
        names.add(m.group(1))
    expr = re.sub(r"label_values\([^)]*\)", " ", expr)
    # Drop string literals, label matchers, range/subquery selectors and grouping lists,
    # whose identifiers are label names, not metrics.
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)
    expr = re.sub(r"'(?:[^'\\]|\\.)*'", " ", expr)
    expr = re.sub(r"`[^`]*`", " ", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?", " ", expr)  # Grafana variables
    for m in IDENT.finditer(expr):
        word = m.group(0)
        rest = expr[m.end():]
        if re.match(r"\s*\(", rest):  # a function call
            continue
        if word.lower() in KEYWORDS:
            continue
        # Numbers such as 1e3 or durations never start an identifier; exponents might.
        if re.match(r"^[eE]\d", word) and re.search(r"\d$", expr[: m.start()]):
            continue
        names.add(word)
    return names


def rule_exprs(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    out = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            out.append((rule.get("alert") or rule.get("record"), rule["expr"]))
    return out


def dashboard_exprs(path):
    with open(path) as f:
        doc = json.load(f)
    out = []

    def walk_panels(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"]))
            walk_panels(p.get("panels", []))

    walk_panels(doc.get("panels", []))
    for ann in doc.get("annotations", {}).get("list", []):
        if ann.get("expr"):
            out.append(("annotation " + ann.get("name", "?"), ann["expr"]))
    for var in doc.get("templating", {}).get("list", []):
        q = var.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if var.get("type") == "query" and q:
            out.append(("variable " + var.get("name", "?"), q))
    return out


def used_names(rules, dashboard):
    used = {}
    for source, exprs in (("alerts", rule_exprs(rules)), ("dashboard", dashboard_exprs(dashboard))):
        for where, expr in exprs:
            for name in metric_names(expr):
                if PROMETHEUS_SERIES.match(name):
                    continue
                used.setdefault(name, set()).add(f"{source}: {where}")
    return used


def parse_scrape(text):
    """(sample names, {family: type}) of a Prometheus text exposition."""
    samples, types = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
        elif line and not line.startswith("#"):
            m = IDENT.match(line)
            if m:
                samples.add(m.group(0))
    return samples, types


def exported(name, samples, types):
    if name in samples or name in types:
        return True
    for suffix, kinds in (("_bucket", {"histogram"}), ("_sum", {"histogram", "summary"}),
                          ("_count", {"histogram", "summary"})):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in kinds:
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list")
    ls.add_argument("rules")
    ls.add_argument("dashboard")
    ck = sub.add_parser("check")
    ck.add_argument("scrapes", nargs="+")
    ck.add_argument("--rules", required=True)
    ck.add_argument("--dashboard", required=True)
    ck.add_argument("--only-prefix", action="append", default=[])
    ck.add_argument("--skip-prefix", action="append", default=[])
    args = ap.parse_args()

    used = used_names(args.rules, args.dashboard)
    if args.cmd == "list":
        for name in sorted(used):
            print(name)
        return 0

    samples, types = set(), {}
    for path in args.scrapes:
        with open(path) as f:
            s, t = parse_scrape(f.read())
        samples |= s
        types.update(t)
    checked, missing = [], []
    for name in sorted(used):
        if args.only_prefix and not any(name.startswith(p) for p in args.only_prefix):
            continue
        if any(name.startswith(p) for p in args.skip_prefix):
            continue
        checked.append(name)
        if not exported(name, samples, types):
            missing.append(name)
    for name in checked:
        print(f"{'MISSING' if name in missing else 'ok     '} {name}")
    if not checked:
        print("no metric names selected: the filters or the extraction are wrong", file=sys.stderr)
        return 1
    if missing:
        print(f"\n{len(missing)} metric(s) used by the alerts/dashboard are not exported:",
              file=sys.stderr)
        for name in missing:
            print(f"  {name}  (used by {'; '.join(sorted(used[name]))})", file=sys.stderr)
        return 1
    print(f"all {len(checked)} metric names are exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
