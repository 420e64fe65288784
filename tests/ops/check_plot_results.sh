#!/usr/bin/env bash
# scripts/plot_results.py turns Google Benchmark JSON (with and without repetitions, several
# files side by side, user counters) and series documents into PNG files, byte-identical
# when re-run, and refuses bad input with a message naming the file, writing nothing.
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}
plot=("$python" "$root/scripts/plot_results.py")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/openblas.json" <<'JSON'
{"context": {"date": "2024-05-01", "num_cpus": 2},
 "benchmarks": [
  {"name": "TrainStep/small/32/1", "run_name": "TrainStep/small/32/1", "run_type": "iteration",
   "real_time": 120.5, "cpu_time": 119.0, "time_unit": "ms", "images_per_s": 265.6},
  {"name": "TrainStep/small/64/1", "run_name": "TrainStep/small/64/1", "run_type": "iteration",
   "real_time": 230.1, "cpu_time": 228.0, "time_unit": "ms", "images_per_s": 278.1},
  {"name": "ModConv/fused", "run_name": "ModConv/fused", "run_type": "iteration",
   "real_time": 3.2, "cpu_time": 3.1, "time_unit": "ms", "images_per_s": 0}
 ]}
JSON
cat >"$tmp/reference.json" <<'JSON'
{"benchmarks": [
  {"name": "TrainStep/small/32/1_mean", "run_name": "TrainStep/small/32/1", "run_type": "aggregate",
   "aggregate_name": "mean", "real_time": 150.0, "cpu_time": 149.0, "time_unit": "ms", "images_per_s": 213.3},
  {"name": "TrainStep/small/32/1_stddev", "run_name": "TrainStep/small/32/1", "run_type": "aggregate",
   "aggregate_name": "stddev", "real_time": 4.0, "cpu_time": 4.0, "time_unit": "ms", "images_per_s": 5.0},
  {"name": "TrainStep/small/64/1", "run_name": "TrainStep/small/64/1", "run_type": "iteration",
   "real_time": 280.0, "cpu_time": 279.0, "time_unit": "ms", "images_per_s": 228.6}
 ]}
JSON
cat >"$tmp/auc_curve.json" <<'JSON'
{"title": "item-64, few-shot", "x_label": "cascade iteration", "y_label": "AUC_u",
 "series": [{"label": "AUC_u", "x": [0, 50, 100, 150], "y": [0.5, 0.62, 0.74, 0.83]},
            {"label": "LOGAN AUC", "x": [0, 50, 100, 150], "y": [0.58, 0.55, 0.5, 0.46]}]}
JSON

"${plot[@]}" --out "$tmp/out" --metric real_time --metric images_per_s \
  --label OpenBLAS --label reference "$tmp/openblas.json" "$tmp/reference.json" \
  "$tmp/auc_curve.json" >"$tmp/written"
expected="TrainStep_real_time.png ModConv_real_time.png TrainStep_images_per_s.png ModConv_images_per_s.png auc_curve.png"
for f in $expected; do
  grep -q "/$f\$" "$tmp/written" || { echo "not reported as written: $f" >&2; cat "$tmp/written" >&2; exit 1; }
  head -c 8 "$tmp/out/$f" | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a ||
    { echo "$f is not a PNG" >&2; exit 1; }
  # width and height from the IHDR chunk: a real chart, not an empty canvas
  read -r w h < <("$python" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", d[16:24]))' "$tmp/out/$f")
  ((w >= 400 && h >= 200)) || { echo "$f is ${w}x${h}" >&2; exit 1; }
done
[[ $(wc -l <"$tmp/written") -eq 5 ]] || { echo "expected 5 plots" >&2; cat "$tmp/written" >&2; exit 1; }
# Same input, same bytes.
"${plot[@]}" --out "$tmp/again" --metric real_time --metric images_per_s --label OpenBLAS \
  --label reference "$tmp/openblas.json" "$tmp/reference.json" "$tmp/auc_curve.json" >/dev/null
for f in $expected; do
  cmp -s "$tmp/out/$f" "$tmp/again/$f" || { echo "$f differs between two runs" >&2; exit 1; }
done
echo "plots: ok ($(echo $expected | wc -w) files, reproducible)"

# Bad input: an error naming the file, exit 1, nothing written.
expect_error() {
  local want=$1; shift
  rm -rf "$tmp/bad"
  if "${plot[@]}" --out "$tmp/bad" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"; then
    echo "accepted bad input: $*" >&2; exit 1
  fi
  grep -q "$want" "$tmp/bad.err" || { echo "message lacks '$want':" >&2; cat "$tmp/bad.err" >&2; exit 1; }
  [[ ! -s "$tmp/bad.out" ]] || { echo "reported output on failure" >&2; exit 1; }
}
echo '{"benchmarks": [' >"$tmp/truncated.json"
expect_error "truncated.json: not JSON" "$tmp/truncated.json"
echo '{"something": 1}' >"$tmp/other.json"
expect_error "other.json: neither Google Benchmark JSON" "$tmp/other.json"
expect_error "has no 'peak_rss_mb'" --metric peak_rss_mb "$tmp/openblas.json"
echo '{"series": [{"label": "a", "x": [1, 2], "y": [1]}]}' >"$tmp/ragged.json"
expect_error "ragged.json: series 'a' needs x and y lists" "$tmp/ragged.json"
expect_error "missing.json: cannot read" "$tmp/missing.json"
echo "bad input: refused with the file named"
