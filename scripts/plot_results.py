#!/usr/bin/python3
"""PNG plots of benchmark results, for docs/results.md.

    scripts/plot_results.py [--out DIR] [--metric M]... [--label NAME]... FILE.json...

Reads two kinds of JSON:

* Google Benchmark output (`--benchmark_format=json` or `--benchmark_out=FILE`), e.g.
  bench/engine_train_bench. One horizontal bar chart per benchmark family (the name up to
  the first "/") and metric, written as DIR/<family>_<metric>.png. Several files are
  drawn side by side (one colour per file: e.g. one run per BLAS or per machine), labelled
  with --label (in file order) or the file name. With repetitions, the mean is drawn with
  the standard deviation as an error bar. Metrics: `real_time` (default), `cpu_time`, or
  any user counter such as `images_per_s` or `peak_rss_mb`.
* Series documents: {"title": T, "x_label": X, "y_label": Y, "log_y": false,
  "series": [{"label": L, "x": [...], "y": [...]}, ...]} — one line chart each, written
  as DIR/<file stem>.png (e.g. AUC_u against cascade iterations).

Prints the path of every PNG written. Exits 1 with a message naming the file on input it
cannot use, and writes nothing for that file.
"""
import argparse
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

# PNGs without a creation time or version stamp, so re-running on the same data gives the
# same bytes and docs diffs stay quiet.
PNG_METADATA = {"Software": None}


class InputError(Exception):
    pass


def slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "plot"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON: {e}")


def benchmark_rows(doc, path, metric):
    """{benchmark name: (value, stddev or None)} and the unit of one Google Benchmark file."""
    rows = doc.get("benchmarks")
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{path}: no \"benchmarks\" array")
    values, stddevs, units = {}, {}, set()
    plain = {}
    for row in rows:
        if not isinstance(row, dict) or "name" not in row:
            raise InputError(f"{path}: a benchmark entry without a name")
        if row.get("error_occurred"):
            continue
        name = row.get("run_name", row["name"])
        kind = row.get("run_type", "iteration")
        if metric not in row:
            raise InputError(f"{path}: benchmark {row['name']} has no {metric!r} "
                             f"(has: {', '.join(sorted(k for k in row if not k.startswith('_')))})")
        value = row[metric]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{path}: benchmark {row['name']}: {metric} is not a number")
        if kind == "aggregate":
            agg = row.get("aggregate_name")
            if agg == "mean":
                values[name] = float(value)
            elif agg == "stddev":
                stddevs[name] = float(value)
        else:
            plain.setdefault(name, []).append(float(value))
        if metric in ("real_time", "cpu_time"):
            units.add(row.get("time_unit", "ns"))
    for name, vals in plain.items():
        if name not in values:
            values[name] = sum(vals) / len(vals)
            if len(vals) > 1:
                mean = values[name]
                stddevs[name] = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    if not values:
        raise InputError(f"{path}: every benchmark reported an error")
    if len(units) > 1:
        raise InputError(f"{path}: mixed time units {sorted(units)}")
    unit = units.pop() if units else ""
    return {n: (v, stddevs.get(n)) for n, v in values.items()}, unit


def plot_benchmarks(runs, metric, out_dir):
    """runs: [(label, {name: (value, stddev)}, unit)] -> written paths."""
    units = {u for _, _, u in runs}
    if len(units) > 1:
        raise InputError(f"files use different time units {sorted(units)}; rerun with one "
                         f"--benchmark_time_unit")
    unit = units.pop()
    families = {}
    for _, rows, _ in runs:
        for name in rows:
            families.setdefault(name.split("/", 1)[0], []).append(name)
    written = []
    for family, names in sorted(families.items()):
        names = list(dict.fromkeys(names))  # file order, no duplicates
        height = max(2.5, 0.35 * len(names) * len(runs) + 1.2)
        fig, ax = plt.subplots(figsize=(8, height))
        bar = 0.8 / len(runs)
        for i, (label, rows, _) in enumerate(runs):
            ys = [j + i * bar for j in range(len(names))]
            xs = [rows[n][0] if n in rows else 0.0 for n in names]
            errs = [(rows[n][1] or 0.0) if n in rows else 0.0 for n in names]
            ax.barh(ys, xs, height=bar, xerr=errs if any(errs) else None, label=label)
        ax.set_yticks([j + bar * (len(runs) - 1) / 2 for j in range(len(names))])
        ax.set_yticklabels([n[len(family) + 1:] or n for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric} ({unit})" if unit else metric)
        ax.set_title(family)
        ax.grid(axis="x", alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, f"{slug(family)}_{slug(metric)}.png")
        fig.savefig(path, dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
        written.append(path)
    return written


def plot_series(doc, path, out_dir):
    series = doc.get("series")
    if not isinstance(series, list) or not series:
        raise InputError(f"{path}: no \"series\" array")
    fig, ax = plt.subplots(figsize=(7, 4))
    for s in series:
        x, y = s.get("x"), s.get("y")
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or not x:
            raise InputError(f"{path}: series {s.get('label', '?')!r} needs x and y lists of "
                             f"the same, non-zero length")
        if not all(isinstance(v, (int, float)) for v in x + y):
            raise InputError(f"{path}: series {s.get('label', '?')!r} holds a non-number")
        ax.plot(x, y, marker="o" if len(x) <= 30 else None, markersize=3,
                label=str(s.get("label", "")))
    ax.set_title(str(doc.get("title", "")))
    ax.set_xlabel(str(doc.get("x_label", "")))
    ax.set_ylabel(str(doc.get("y_label", "")))
    if doc.get("log_y"):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if any(s.get("label") for s in series):
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(out_dir, slug(os.path.splitext(os.path.basename(path))[0]) + ".png")
    fig.savefig(out, dpi=110, metadata=PNG_METADATA)
    plt.close(fig)
    return [out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="benchmark or series JSON files")
    ap.add_argument("--out", default="docs/img", help="output directory (default docs/img)")
    ap.add_argument("--metric", action="append",
                    help="benchmark metric to plot (repeatable; default real_time)")
    ap.add_argument("--label", action="append", default=[],
                    help="legend label of each benchmark file, in order")
    args = ap.parse_args()
    metrics = args.metric or ["real_time"]
    try:
        docs = [(path, load(path)) for path in args.files]
        bench = [(p, d) for p, d in docs if isinstance(d, dict) and "benchmarks" in d]
        series = [(p, d) for p, d in docs if isinstance(d, dict) and "series" in d]
        for p, d in docs:
            if (p, d) not in bench and (p, d) not in series:
                raise InputError(f"{p}: neither Google Benchmark JSON (\"benchmarks\") nor a "
                                 f"series document (\"series\")")
        if args.label and len(args.label) != len(bench):
            raise InputError(f"{len(args.label)} --label for {len(bench)} benchmark files")
        os.makedirs(args.out, exist_ok=True)
        written = []
        for metric in metrics if bench else []:
            runs = []
            for i, (p, d) in enumerate(bench):
                rows, unit = benchmark_rows(d, p, metric)
                label = args.label[i] if args.label else os.path.splitext(os.path.basename(p))[0]
                runs.append((label, rows, unit))
            written += plot_benchmarks(runs, metric, args.out)
        for p, d in series:
            written += plot_series(d, p, args.out)
    except InputError as e:
        print(f"plot_results: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
