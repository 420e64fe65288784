#!/usr/bin/env bash
# Cascaded unlearning vs exact retraining, side by side, through the real CLI
# (`lethe-engine unlearn` / `retrain`), one report per scenario and a summary table.
#
#   BASE=var/models/small EVALUATOR=var/evaluator bench/unlearn_bench.sh [SCENARIO...]
#
# Scenarios (default: all, in this order):
#   item64        item-64, few-shot, average, zeta 0.1 (the paper's headline setting)
#   retrain       exact retraining without the item-64 forget set: RETRAIN_ITERS measured
#                 iterations (0 = the base's whole schedule), projected to the schedule
#   item256 item1024                      the same with more forgotten items
#   class-sampled class-inverted          class CLASS, other-class, alpha-perceptual 0.5
#   item64-zero item64-zero-zeta-1        zero-shot (fake label 0.1, -1)
#   item64-truncation item64-projection   the other item substitutes
#   item64-zeta-1 item64-zeta0.5          the other fake labels of the paper
#   item256-zeta-1 item1024-zeta-1        larger forget sets with the fastest fake label
# Environment: ENGINE (lethe-engine binary), BASE (model dir, required), EVALUATOR,
# DATA (data spec, default fashion-mnist), OUT (results dir), THREADS, DEVICE,
# MAX_ITERS (1500), MAX_SECONDS (1800), EVAL_EVERY (20), CLASS (0), SEED (1),
# RETRAIN_ITERS (200), CLASS_INV_STEPS (inversion steps when a whole class is inverted;
# default the engine's), KEEP_MODELS (0), PRECISION (fp32|bf16, of unlearning; retraining uses the
# base model's), RETAINED_POOL, G_LR, D_LR, INVERSION_STEPS, INVERSION_START, NUM_GENERATED
# (override the engine's defaults when set). Exit status 0 when every run completed (reached or
# not: the table says which), 1 when one failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE=${ENGINE:-$root/build/engine/cli/lethe-engine}
BASE=${BASE:?set BASE to the base model directory (e.g. var/models/small)}
EVALUATOR=${EVALUATOR:-$root/var/evaluator}
DATA=${DATA:-fashion-mnist}
OUT=${OUT:-$root/var/bench/unlearn-$(date +%Y%m%d-%H%M%S)}
THREADS=${THREADS:-0}
DEVICE=${DEVICE:-cpu}
MAX_ITERS=${MAX_ITERS:-1500}
MAX_SECONDS=${MAX_SECONDS:-1800}
EVAL_EVERY=${EVAL_EVERY:-20}
CLASS=${CLASS:-0}
SEED=${SEED:-1}
RETRAIN_ITERS=${RETRAIN_ITERS:-200}
KEEP_MODELS=${KEEP_MODELS:-0}
CLASS_INV_STEPS=${CLASS_INV_STEPS:-}
# Arithmetic of unlearning's forward passes; retraining follows the base model's manifest.
PRECISION=${PRECISION:-fp32}

scenarios=("$@")
if ((${#scenarios[@]} == 0)); then
  scenarios=(item64 retrain item256 item1024 class-sampled class-inverted item64-zero
             item64-truncation item64-projection item64-zeta-1 item64-zeta0.5)
fi
[[ -x $ENGINE ]] || { echo "no lethe-engine at $ENGINE (set ENGINE)" >&2; exit 1; }
mkdir -p "$OUT"
echo "$(date -Is) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), device $DEVICE" \
  | tee "$OUT/machine.txt" >&2

# N training item ids, a seeded random choice: IDX data sets name items train/<index>;
# a PNG tree with train/ and test/ names them train/<class>/<file>.
item_ids() {
  local n=$1 file=$OUT/items-$1.txt
  if [[ -d $DATA/train ]]; then
    (cd "$DATA" && find train -type f -name '*.png' | sort)
  else
    seq 0 $((${N_TRAIN:-60000} - 1)) | sed 's|^|train/|'
  fi | shuf -n "$n" --random-source=<(yes "$SEED") > "$file"
  echo "$file"
}

common=(--model "$BASE" --evaluator "$EVALUATOR" --data "$DATA" --threads "$THREADS"
        --device "$DEVICE" --seed "$SEED" --precision "$PRECISION" --max-iterations "$MAX_ITERS"
        --max-seconds "$MAX_SECONDS" --eval-every "$EVAL_EVERY" --quiet)
# Optional overrides of the engine's defaults (empty: the engine's own).
[[ -n ${RETAINED_POOL:-} ]] && common+=(--retained-pool "$RETAINED_POOL")
[[ -n ${G_LR:-} ]] && common+=(--g-lr "$G_LR")
[[ -n ${D_LR:-} ]] && common+=(--d-lr "$D_LR")
[[ -n ${INVERSION_STEPS:-} ]] && common+=(--inversion-steps "$INVERSION_STEPS")
[[ -n ${INVERSION_START:-} ]] && common+=(--inversion-start "$INVERSION_START")
[[ -n ${NUM_GENERATED:-} ]] && common+=(--num-generated "$NUM_GENERATED")
failed=0

unlearn() {  # name, then extra flags
  local name=$1; shift
  echo "== $name: lethe-engine unlearn $*" >&2
  local status=0
  "$ENGINE" unlearn "${common[@]}" "$@" --out "$OUT/$name.model" \
    --report "$OUT/$name.json" > /dev/null 2> "$OUT/$name.log" || status=$?
  if ((status != 0 && status != 3)); then
    echo "   FAILED (exit $status): $(tail -1 "$OUT/$name.log")" >&2
    failed=1
  fi
  ((KEEP_MODELS)) || rm -rf "$OUT/$name.model"
}

for s in "${scenarios[@]}"; do
  case $s in
    item64) unlearn "$s" --forget-items "$(item_ids 64)" --mode few-shot --substitute average \
              --fake-label 0.1 ;;
    item256) unlearn "$s" --forget-items "$(item_ids 256)" --fake-label 0.1 ;;
    item1024) unlearn "$s" --forget-items "$(item_ids 1024)" --fake-label 0.1 ;;
    item256-zeta-1) unlearn "$s" --forget-items "$(item_ids 256)" --fake-label -1 ;;
    item1024-zeta-1) unlearn "$s" --forget-items "$(item_ids 1024)" --fake-label -1 ;;
    class-sampled) unlearn "$s" --forget-class "$CLASS" --substitute other-class \
                     --latents sampled --alpha-perceptual 0.5 ;;
    class-inverted) unlearn "$s" --forget-class "$CLASS" --substitute other-class \
                      --latents inverted --alpha-perceptual 0.5 \
                      ${CLASS_INV_STEPS:+--inversion-steps "$CLASS_INV_STEPS"} ;;
    item64-zero) unlearn "$s" --forget-items "$(item_ids 64)" --mode zero-shot --fake-label 0.1 ;;
    item64-zero-zeta-1) unlearn "$s" --forget-items "$(item_ids 64)" --mode zero-shot \
                          --fake-label -1 ;;
    item64-truncation) unlearn "$s" --forget-items "$(item_ids 64)" --substitute truncation \
                         --psi 0.5 --fake-label 0.1 ;;
    item64-projection) unlearn "$s" --forget-items "$(item_ids 64)" --substitute projection \
                         --fake-label 0.1 ;;
    item64-zeta-1) unlearn "$s" --forget-items "$(item_ids 64)" --fake-label -1 ;;
    item64-zeta0.5) unlearn "$s" --forget-items "$(item_ids 64)" --fake-label 0.5 ;;
    retrain)
      echo "== retrain: lethe-engine retrain (item-64 forget set, $RETRAIN_ITERS iterations)" >&2
      args=(--model "$BASE" --data "$DATA" --forget-items "$(item_ids 64)" --threads "$THREADS"
            --device "$DEVICE" --seed "$SEED" --out "$OUT/retrain.model"
            --report "$OUT/retrain.json" --quiet)
      ((RETRAIN_ITERS > 0)) && args+=(--iterations "$RETRAIN_ITERS")
      ((RETRAIN_ITERS > 0)) || args+=(--evaluator "$EVALUATOR")
      "$ENGINE" retrain "${args[@]}" > /dev/null 2> "$OUT/retrain.log" || {
        echo "   FAILED: $(tail -1 "$OUT/retrain.log")" >&2; failed=1; }
      ((KEEP_MODELS)) || rm -rf "$OUT/retrain.model" ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done

# The summary: one row per scenario; speed-up = projected retraining time / (inversion +
# cascade + destination checks). The base manifest's own training time is shown too.
python3 - "$OUT" "$BASE" <<'PY' | tee "$OUT/summary.txt"
import json, os, sys
out, base = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(base, "manifest.json")))
sched = manifest.get("training", {})
retrain_s = None
rt_path = os.path.join(out, "retrain.json")
if os.path.exists(rt_path):
    rt = json.load(open(rt_path))
    ms = rt["ms_per_iteration"]
    retrain_s = ms / 1000.0 * sched.get("iterations", rt["iterations"])
    print(f"retrain: {rt['iterations']} iterations measured at {ms:.1f} ms/it -> "
          f"{retrain_s:.0f} s projected for the schedule's {sched.get('iterations')} iterations"
          f"{' (measured in full)' if not rt.get('schedule_overridden') else ''}")
if "train_seconds" in sched:
    print(f"base model: trained {sched.get('iterations')} iterations in "
          f"{sched['train_seconds']:.0f} s ({sched.get('ms_per_iteration', 0):.1f} ms/it)")
cols = ["scenario", "reached", "iters", "inv s", "cascade s", "checks s", "total s", "speed-up",
        "AUC_u", "LOGAN", "FD_l", "FD_u", "acc", "G(w_u)->x_u mse"]
print(" | ".join(cols))
summary = []
for name in sorted(f[:-5] for f in os.listdir(out) if f.endswith(".json") and f != "retrain.json"):
    r = json.load(open(os.path.join(out, name + ".json")))
    s, b, a = r["seconds"], r["before"], r["after"]
    work = s["inversion"] + s["unlearning"] + s["evaluation"]
    speed = f"{retrain_s / work:.0f}x" if retrain_s else "-"
    def ba(k, fmt="{:.3f}"):
        if b.get(k) is None or a.get(k) is None: return "-"
        return (fmt + "->" + fmt).format(b[k], a[k])
    row = [name, str(r["destination_reached"]), str(r["iterations"]), f"{s['inversion']:.1f}",
           f"{s['unlearning']:.1f}", f"{s['evaluation']:.1f}", f"{work:.1f}", speed,
           ba("auc_u"), ba("logan_auc"), ba("fd_l", "{:.2f}"), ba("fd_u", "{:.2f}"), ba("accuracy")]
    gf = (r.get("generator_forgetting") or {}).get("reconstruction_mse")
    row.append(f"{gf['before']:.4f}->{gf['after']:.4f}" if gf else "-")
    print(" | ".join(row))
    summary.append({"scenario": name, "reached": r["destination_reached"],
                    "iterations": r["iterations"], "seconds": s, "before": b, "after": a,
                    "speedup": (retrain_s / work) if retrain_s else None,
                    "destination": r["destination"], "policies": r["policies"],
                    "generator_forgetting": r.get("generator_forgetting"),
                    "config": r.get("config")})
json.dump({"retrain_seconds_projected": retrain_s, "runs": summary},
          open(os.path.join(out, "summary.json"), "w"), indent=2)
PY
echo "reports in $OUT" >&2
exit $failed
