#!/usr/bin/env bash
# Runs engine_train_bench twice in one go, once against the reference BLAS and once against
# OpenBLAS (the two Debian alternatives of libblas.so.3), and prints one JSON object with
# both result sets. LibTorch's convolutions go through oneDNN, so BLAS mostly affects the
# fully connected layers; this script measures how much that matters end to end.
#
# usage: bench/blas_compare.sh [BENCH_BINARY] [BENCHMARK_FILTER]
#   BENCH_BINARY      default: build/bench/engine_train_bench
#   BENCHMARK_FILTER  default: TrainStep/small
# The machine's load average is recorded with the results: on a shared machine, compare
# the two runs with each other, not with numbers taken at another time.
set -euo pipefail

bench=${1:-build/bench/engine_train_bench}
filter=${2:-TrainStep/small}
libdir=/usr/lib/x86_64-linux-gnu
# Reference BLAS and LAPACK both: the OpenBLAS LAPACK would otherwise pull libopenblas in.
declare -A blas_dirs=([reference]="$libdir/blas:$libdir/lapack" [openblas]="$libdir/openblas-openmp")

[[ -x $bench ]] || { echo "blas_compare: $bench is not an executable (build engine_train_bench)" >&2; exit 1; }
for name in reference openblas; do
  first_dir=${blas_dirs[$name]%%:*}
  [[ -e $first_dir/libblas.so.3 ]] ||
    { echo "blas_compare: $first_dir/libblas.so.3 not found ($name BLAS not installed)" >&2; exit 1; }
done

# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning
# threads steal the cores the other worker thread needs.
export OMP_WAIT_POLICY=PASSIVE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in reference openblas; do
  dir=${blas_dirs[$name]}
  # Which libblas.so.3 the dynamic loader really picks with this search path.
  LD_LIBRARY_PATH=$dir ldd "$bench" | awk '/lib(open)?blas|liblapack/ {print $3}' >"$tmp/$name.lib"
  cat /proc/loadavg >"$tmp/$name.load"
  # One process per benchmark, so that each one's peak RSS is its own.
  i=0
  while read -r test; do
    LD_LIBRARY_PATH=$dir "$bench" --benchmark_filter="^${test}\$" --benchmark_format=json \
      --benchmark_out="$tmp/$name.$i.json" --benchmark_out_format=json >/dev/null
    i=$((i + 1))
  done < <("$bench" --benchmark_list_tests --benchmark_filter="$filter")
done

python3 - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
out = {"runs": []}
for name in ("reference", "openblas"):
    parts = sorted((f for f in os.listdir(tmp) if f.startswith(name + ".") and f.endswith(".json")),
                   key=lambda f: int(f.split(".")[1]))
    data = {"context": {}, "benchmarks": []}
    for part in parts:
        with open(os.path.join(tmp, part)) as f:
            d = json.load(f)
        data["context"] = d["context"]
        data["benchmarks"] += d["benchmarks"]
    libs = open(os.path.join(tmp, name + ".lib")).read().split()
    load = open(os.path.join(tmp, name + ".load")).read().split()[:3]
    out.setdefault("context", {k: data["context"].get(k) for k in ("host_name", "num_cpus", "mhz_per_cpu")})
    out["runs"].append({
        "blas": name,
        "blas_libraries_loaded": libs,
        "load_average_before": [float(x) for x in load],
        "benchmarks": [
            {k: b.get(k) for k in ("name", "real_time", "cpu_time", "time_unit", "iterations",
                                   "batch", "threads", "images_per_s", "peak_rss_mb")}
            for b in data["benchmarks"]
        ],
    })
print(json.dumps(out, indent=2))
PY
