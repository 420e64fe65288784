#!/usr/bin/env bash
# The engine on a GPU, end to end, in one go (a few minutes on one H100):
#   1. builds only the engine CLI (-DLETHE_ENGINE_ONLY=ON) against the machine's CUDA
#      LibTorch (the one PyTorch ships: torch.utils.cmake_prefix_path), with the C++ ABI and
#      standard that LibTorch needs;
#   2. times one training step of `small` at batch 128 and 2048, fp32 and bf16: the marginal
#      time per iteration between a short and a longer run, so start-up and warm-up drop out;
#   3. runs bench/unlearn_bench.sh on the GPU with the hosted model and evaluator
#      (models/): item-64 few-shot unlearning, class unlearning (sampled codes) and the exact
#      baseline (RETRAIN_ITERS retraining iterations, projected onto the hosted model's
#      10,000-iteration schedule), printing the same reports and summary as on the CPU;
#   4. (PROFILE=1, the default) a per-kernel summary of training steps under ncu.
#
# On a machine with the Debian package dataset-fashion-mnist nothing needs setting. A
# machine without it reads var/fashion-mnist, and one without zlib's headers var/debs;
# prepare both here and take them along:
#   mkdir -p var/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*-ubyte.gz var/fashion-mnist/
#   mkdir -p var/debs && (cd var/debs && apt-get download zlib1g-dev) Results land in WORK (var/gpu) and, when OUT names a
# directory, summary.txt, steps.txt, profile.txt and gpu.log are copied there too.
#
# Rehearsal without a GPU (no build, the CPU, tiny budgets; checks the script's plumbing):
#   ENGINE=build/engine/cli/lethe-engine DEVICE=cpu THREADS=1 QUICK=1 bench/gpu.sh
#
# Environment: DATA, BASE (models/fashion-mnist-small), EVALUATOR
# (models/fashion-mnist-evaluator), ENGINE (skip the build and use this binary), DEVICE
# (cuda), THREADS (4), PRECISION (bf16, of unlearning), RETRAIN_ITERS (300), PROFILE (1),
# QUICK (0), WORK (var/gpu), BUILD (build-gpu), JOBS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$(date +%s)
stamp() { echo "[gpu.sh +$(($(date +%s) - start)) s] $*" >&2; }

BUILD=${BUILD:-$root/build-gpu}
WORK=${WORK:-$root/var/gpu}
BASE=${BASE:-$root/models/fashion-mnist-small}
EVALUATOR=${EVALUATOR:-$root/models/fashion-mnist-evaluator}
DEVICE=${DEVICE:-cuda}
PRECISION=${PRECISION:-bf16}
RETRAIN_ITERS=${RETRAIN_ITERS:-300}
PROFILE=${PROFILE:-1}
THREADS=${THREADS:-4}  # host threads (1 for a CPU rehearsal: bf16 stalls on 2 busy cores)
QUICK=${QUICK:-0}
JOBS=${JOBS:-$(nproc)}
RESULTS=${OUT:-}  # the caller's result directory, if any (not unlearn_bench.sh's OUT)

mkdir -p "$WORK"
exec 2> >(tee "$WORK/gpu.log" >&2)

# --- the data --------------------------------------------------------------------------
if [[ -z ${DATA:-} ]]; then
  for d in /usr/share/datasets/fashion-mnist "$root/var/fashion-mnist"; do
    if [[ -e $d/train-images-idx3-ubyte.gz || -e $d/train-images-idx3-ubyte ]]; then
      DATA=$d
      break
    fi
  done
fi
[[ -n ${DATA:-} ]] || { echo "no Fashion-MNIST found: set DATA or copy the four *-ubyte.gz \
files to var/fashion-mnist" >&2; exit 1; }
for m in "$BASE" "$EVALUATOR"; do
  [[ -f $m/manifest.json ]] || { echo "no model at $m (set BASE / EVALUATOR)" >&2; exit 1; }
done

# --- 1. build --------------------------------------------------------------------------
if [[ -n ${ENGINE:-} ]]; then
  engine=$ENGINE
  stamp "using $engine (no build)"
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  # LibTorch 2.12 and later need C++20 of whoever includes its headers.
  cxx_std=$(python3 -c 'import torch; v = torch.__version__.split("+")[0].split(".");
print(20 if (int(v[0]), int(v[1])) >= (2, 12) else 17)')
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available())' >&2
  export PATH=$PATH:/usr/local/cuda/bin
  command -v nvcc >/dev/null ||
    stamp "warning: no nvcc found; LibTorch's CMake config needs the CUDA toolkit (CUDA_HOME)"
  # zlib's headers (the engine reads gzip'd IDX files). A machine without them uses the
  # Debian package taken along in var/debs (here: apt-get download zlib1g-dev), unpacked
  # with ar and tar, which any machine with a compiler has; ZLIB_FROM_DEB=1 forces that.
  zlib_args=()
  if [[ ${ZLIB_FROM_DEB:-0} == 1 ]] ||
    ! printf '#include <zlib.h>\n' | c++ -fsyntax-only -x c++ - 2>/dev/null; then
    deb=$(compgen -G "$root/var/debs/zlib1g-dev_*.deb" | head -1 || true)
    [[ -n $deb ]] || { echo "no zlib.h here: run 'apt-get download zlib1g-dev' in var/debs \
on a Debian machine and take var/debs along" >&2; exit 1; }
    rm -rf "$WORK/zlib" && mkdir -p "$WORK/zlib"
    (cd "$WORK/zlib" && ar x "$deb" && tar xf data.tar.*)
    lib=$(compgen -G "/lib/x86_64-linux-gnu/libz.so.1" || compgen -G "/usr/lib*/libz.so.1" ||
      echo "$WORK/zlib/usr/lib/x86_64-linux-gnu/libz.a")
    zlib_args=(-DZLIB_INCLUDE_DIR="$WORK/zlib/usr/include" -DZLIB_LIBRARY="${lib%%$'\n'*}")
    stamp "zlib: headers from $(basename "$deb"), library $lib"
  fi
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  stamp "configuring against $prefix (C++11 ABI $abi, C++$cxx_std)"
  # Every target, torch-free ones included, must use LibTorch's std::string ABI; a newer
  # compiler's or LibTorch's warnings must not stop the run (LETHE_WERROR=OFF).
  cmake -S "$root" -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLETHE_ENGINE_ONLY=ON -DLETHE_BUILD_TESTS=OFF -DLETHE_BUILD_BENCHMARKS=OFF \
    -DLETHE_CUDA=ON -DLETHE_WERROR=OFF -DCMAKE_CXX_STANDARD="$cxx_std" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi" \
    "${zlib_args[@]}" \
    >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
  cmake --build "$BUILD" -j "$JOBS" --target lethe-engine >"$WORK/build.log" 2>&1 || {
    grep -m 20 -E "error|Error" "$WORK/build.log" >&2 || tail -30 "$WORK/build.log" >&2
    exit 1
  }
  engine=$BUILD/engine/cli/lethe-engine
fi
"$engine" --help >/dev/null
stamp "engine ready: $engine"

# --- 2. training-step time -------------------------------------------------------------
# One `train` run of N iterations; prints the seconds its steps took.
train_seconds() {  # batch precision iterations
  rm -rf "$WORK/step.model"
  "$engine" train --preset small --data "$DATA" --batch "$1" --iterations "$3" \
    --precision "$2" --device "$DEVICE" --threads "$THREADS" --seed 1 --log-every 0 \
    --out "$WORK/step.model" 2>>"$WORK/steps.log" |
    python3 -c 'import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if j.get("event") == "done": print(j["ms_per_iteration"] * j["iterations_this_run"] / 1e3)'
  rm -rf "$WORK/step.model"
}
# ms per iteration between a run of `short` and one of `long` iterations: (t_long -
# t_short) / (long - short), warm-up and start-up excluded.
step_ms() {  # batch precision short long
  local t_short t_long
  t_short=$(train_seconds "$1" "$2" "$3")
  t_long=$(train_seconds "$1" "$2" "$4")
  python3 -c "print('small, batch $1, $2: %.1f ms/iteration' %
    (1e3 * ($t_long - $t_short) / ($4 - $3)))"
}
if ((QUICK)); then short=1; long=5; big=64; else short=20; long=120; big=2048; fi
stamp "training-step time"
{
  step_ms 128 fp32 "$short" "$long"
  step_ms 128 bf16 "$short" "$long"
  step_ms "$big" bf16 "$short" $((short + (long - short) / 4))
} | tee "$WORK/steps.txt" >&2 || stamp "training-step timing failed (see $WORK/steps.log)"

# --- 3. unlearning vs retraining -------------------------------------------------------
stamp "unlearning benchmark"
bench_env=(ENGINE="$engine" BASE="$BASE" EVALUATOR="$EVALUATOR" DATA="$DATA"
           OUT="$WORK/bench" DEVICE="$DEVICE" THREADS="$THREADS" PRECISION="$PRECISION"
           MAX_ITERS=400 MAX_SECONDS=60 EVAL_EVERY=20 CLASS=8 RETRAIN_ITERS="$RETRAIN_ITERS")
((QUICK)) && bench_env+=(MAX_ITERS=2 EVAL_EVERY=1 RETRAIN_ITERS=3 INVERSION_STEPS=2
                         NUM_GENERATED=200)
rm -rf "$WORK/bench"
bench_status=0
env "${bench_env[@]}" "$root/bench/unlearn_bench.sh" retrain item64 class-sampled >&2 ||
  bench_status=$?

# --- 4. where the time goes ------------------------------------------------------------
# Kernel durations of about two training steps at batch 128 (the learning phase runs the
# same step; the reference figures are per step at 128), after a few warm-up steps. One
# metric only, so ncu replays each kernel once. Bounded: the profile is extra.
if ((PROFILE)) && [[ $DEVICE == cuda* ]] && command -v ncu >/dev/null; then
  stamp "profiling training steps (ncu)"
  rm -rf "$WORK/profile.model"
  timeout 120 ncu --metrics gpu__time_duration.sum --launch-skip 3000 --launch-count 1200 \
    --print-summary per-kernel "$engine" train --preset small --data "$DATA" --batch 128 \
    --iterations 20 --precision bf16 --device "$DEVICE" --threads "$THREADS" --seed 1 \
    --log-every 0 --out "$WORK/profile.model" >"$WORK/profile.txt" 2>&1 ||
    stamp "profile ended early (see $WORK/profile.txt)"
  rm -rf "$WORK/profile.model"
fi

if [[ -n $RESULTS ]]; then
  mkdir -p "$RESULTS"
  cp "$WORK/steps.txt" "$WORK/gpu.log" "$RESULTS/" 2>/dev/null || true
  cp "$WORK/bench/summary.txt" "$WORK/bench/summary.json" "$RESULTS/" 2>/dev/null || true
  [[ -f $WORK/profile.txt ]] && cp "$WORK/profile.txt" "$RESULTS/"
fi
stamp "done"
exit "$bench_status"
