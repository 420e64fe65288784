#!/usr/bin/env bash
# Forgetting as a user could check it, against exact unlearning. On a model that remembers
# its training images (models/fashion-mnist-memorizing), each forget set is
#   1. retrained from scratch without it (the base's whole schedule, really run),
#   2. unlearned with the default destination (the generator must forget),
#   3. unlearned with the paper's destination (AUC_u >= 0.8),
# and both unlearned models are measured against the retrained one (--reference-model):
# every membership attack's AUC before / after / retrained, FD_l, accuracy, FD between the
# unlearned and the retrained generator, iterations and seconds. Prints a table and writes
# OUT/summary.json.
#
#   bench/forgetting_bench.sh [SCENARIO...]      (default: item16 class)
#
# Scenarios: itemN (N seeded random members, e.g. item16; fewer than the base's members),
# class (every member of class CLASS).
# Environment: ENGINE, BASE (default models/fashion-mnist-memorizing), EVALUATOR, OUT,
# THREADS (1), SEED (1), CLASS (0), MAX_ITERS (1000), EVAL_EVERY (10), PRECISION (fp32),
# RETRAIN_ITERS (0 = the base's whole schedule), ATTACK_SAMPLES (10000), REUSE_RETRAINED
# (a directory of earlier runs whose <scenario>-retrained models are reused when present).
# Exit status 0 when every run completed (reached or not: the table says), 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE=${ENGINE:-$root/build/engine/cli/lethe-engine}
BASE=${BASE:-$root/models/fashion-mnist-memorizing}
EVALUATOR=${EVALUATOR:-$root/models/fashion-mnist-evaluator}
OUT=${OUT:-$root/var/bench/forgetting-$(date +%Y%m%d-%H%M%S)}
THREADS=${THREADS:-1}
SEED=${SEED:-1}
CLASS=${CLASS:-0}
MAX_ITERS=${MAX_ITERS:-1000}
EVAL_EVERY=${EVAL_EVERY:-10}
PRECISION=${PRECISION:-fp32}
RETRAIN_ITERS=${RETRAIN_ITERS:-0}
ATTACK_SAMPLES=${ATTACK_SAMPLES:-10000}
REUSE_RETRAINED=${REUSE_RETRAINED:-}

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(item16 class)
[[ -x $ENGINE ]] || { echo "no lethe-engine at $ENGINE (set ENGINE)" >&2; exit 1; }
[[ -f $BASE/members.txt ]] || { echo "$BASE has no members.txt" >&2; exit 1; }
mkdir -p "$OUT"
echo "$(date -Is) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt" >&2

# The forget set of a scenario: N seeded random members, or a class (flags for the engine).
forget_flags() {
  case $1 in
    item*)
      local n=${1#item} file=$OUT/$1-items.txt members
      members=$(grep -vc '^#' "$BASE/members.txt")
      ((n < members)) || { echo "$1: the base has only $members members" >&2; return 1; }
      grep -v '^#' "$BASE/members.txt" | shuf -n "$n" --random-source=<(yes "$SEED") > "$file"
      echo "--forget-items $file" ;;
    class) echo "--forget-class $CLASS" ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
}

failed=0
for s in "${scenarios[@]}"; do
  flags_of_s=$(forget_flags "$s") || { failed=1; continue; }
  read -r -a forget <<<"$flags_of_s"
  retrained=$OUT/$s-retrained
  if [[ -n $REUSE_RETRAINED && -f $REUSE_RETRAINED/$s-retrained/manifest.json ]]; then
    cp -r "$REUSE_RETRAINED/$s-retrained" "$retrained"
    cp "$REUSE_RETRAINED/$s-retrain.json" "$OUT/$s-retrain.json"
  elif [[ ! -f $retrained/manifest.json ]]; then
    echo "== $s: retraining" >&2
    iters=()
    ((RETRAIN_ITERS > 0)) && iters=(--iterations "$RETRAIN_ITERS")
    "$ENGINE" retrain --model "$BASE" "${forget[@]}" --threads "$THREADS" --seed "$SEED" \
      "${iters[@]}" --quiet --out "$retrained" --report "$OUT/$s-retrain.json" >/dev/null \
      || { echo "retraining $s failed" >&2; failed=1; continue; }
  fi
  for policy in generator paper; do
    echo "== $s: unlearning, $policy destination" >&2
    set +e
    "$ENGINE" unlearn --model "$BASE" --evaluator "$EVALUATOR" "${forget[@]}" \
      --destination "$policy" --reference-model "$retrained" --threads "$THREADS" \
      --seed "$SEED" --precision "$PRECISION" --max-iterations "$MAX_ITERS" \
      --eval-every "$EVAL_EVERY" --attack-samples "$ATTACK_SAMPLES" --write-unreached --quiet \
      --out "$OUT/$s-$policy" --report "$OUT/$s-$policy.json" \
      --grid "$OUT/$s-$policy.png" >/dev/null 2>"$OUT/$s-$policy.log"
    rc=$?
    set -e
    if ((rc != 0 && rc != 3)); then
      echo "unlearning $s ($policy) failed (exit $rc): $(tail -n 3 "$OUT/$s-$policy.log")" >&2
      failed=1
    fi
  done
done

python3 - "$OUT" "${scenarios[@]}" <<'PY'
import json, os, sys
out, scenarios = sys.argv[1], sys.argv[2:]
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
rows = []
for s in scenarios:
    retrain = load(os.path.join(out, f"{s}-retrain.json")) or {}
    retrain_s = retrain.get("seconds", {}).get("training")
    for policy in ("generator", "paper"):
        r = load(os.path.join(out, f"{s}-{policy}.json"))
        if r is None:
            continue
        mia = lambda side: r.get(side, {}).get("mia", {})
        sec = r["seconds"]
        work = sec["inversion"] + sec["unlearning"] + sec["evaluation"]
        row = {
            "scenario": s, "policy": policy, "reached": r["destination_reached"],
            "iterations": r["iterations"], "seconds": work,
            "retrain_seconds": retrain_s,
            "speedup": (retrain_s / work) if retrain_s and work > 0 else None,
            "fd_l": [r["before"].get("fd_l"), r["after"].get("fd_l"),
                     r.get("reference", {}).get("fd_l")],
            "accuracy": [r["before"].get("accuracy"), r["after"].get("accuracy"),
                         r.get("reference", {}).get("accuracy")],
            "generator_fd_to_retrained": r.get("distance_to_reference", {}).get("generator_fd"),
            "summary": r.get("summary"),
        }
        for k in ("discriminator_auc", "generator_whitebox_auc", "generator_blackbox_auc"):
            row[k] = [mia("before").get(k), mia("after").get(k), mia("reference").get(k)]
        rows.append(row)
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(rows, f, indent=2)
def f(v, d=3):
    return "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))
print("| scenario | destination | reached | it | s | x retrain | D AUC b/a/r | G white-box b/a/r"
      " | G black-box b/a/r | FD_l b/a/r | acc b/a/r | FD to retrained |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    tri = lambda k, d=3: " / ".join(f(x, d) for x in r[k])
    print(f"| {r['scenario']} | {r['policy']} | {r['reached']} | {r['iterations']} | "
          f"{f(r['seconds'], 1)} | {f(r['speedup'], 1)} | {tri('discriminator_auc')} | "
          f"{tri('generator_whitebox_auc')} | {tri('generator_blackbox_auc')} | "
          f"{tri('fd_l', 2)} | {tri('accuracy')} | {f(r['generator_fd_to_retrained'], 2)} |")
PY
exit $failed
