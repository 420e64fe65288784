#!/usr/bin/env bash
# The engine on a GPU, end to end, in one go (well under 8 minutes on one H100):
#   1. builds only the engine CLI (-DLETHE_ENGINE_ONLY=ON) against the machine's CUDA
#      LibTorch (the one PyTorch ships: torch.utils.cmake_prefix_path), with the C++ ABI
#      that LibTorch was built with;
#   2. trains a short `small` base model on Fashion-MNIST (and a domain classifier unless
#      one is given);
#   3. runs bench/unlearn_bench.sh on the GPU: item-64 few-shot unlearning, class unlearning
#      (sampled codes), and the exact baseline retrained with the base's whole schedule,
#      printing the same reports and summary as on the CPU.
#
#   bench/gpu.sh                 data from /usr/share/datasets/fashion-mnist or
#                                var/fashion-mnist (the four *-ubyte.gz files)
# Environment: DATA, EVALUATOR (an existing evaluator dir to reuse, e.g. var/evaluator),
# BASE_ITERS (1500), BASE_BATCH (64), WORK (var/gpu), BUILD (build-gpu), JOBS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$(date +%s)
stamp() { echo "[gpu.sh +$(($(date +%s) - start)) s] $*" >&2; }

BUILD=${BUILD:-$root/build-gpu}
WORK=${WORK:-$root/var/gpu}
BASE_ITERS=${BASE_ITERS:-1500}
BASE_BATCH=${BASE_BATCH:-64}
JOBS=${JOBS:-$(nproc)}

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

# --- 1. build --------------------------------------------------------------------------
mkdir -p "$WORK"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available())' >&2
command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || stamp \
  "warning: no nvcc found; LibTorch's CMake config needs the CUDA toolkit (set CUDA_HOME)"
export PATH=$PATH:/usr/local/cuda/bin
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
stamp "configuring against $prefix (C++11 ABI $abi)"
# Every target, torch-free ones included, must use LibTorch's std::string ABI.
cmake -S "$root" -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLETHE_ENGINE_ONLY=ON -DLETHE_BUILD_TESTS=OFF -DLETHE_BUILD_BENCHMARKS=OFF \
  -DLETHE_CUDA=ON -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi" >"$WORK.cmake.log" 2>&1 ||
  { tail -30 "$WORK.cmake.log" >&2; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target lethe-engine 2>&1 | tail -3
engine=$BUILD/engine/cli/lethe-engine
"$engine" --help >/dev/null
stamp "built $engine"

# --- 2. a short base model (and an evaluator) ------------------------------------------
rm -rf "$WORK/base" "$WORK/bench"
if [[ -n ${EVALUATOR:-} ]]; then
  stamp "reusing evaluator $EVALUATOR"
else
  EVALUATOR=$WORK/evaluator
  rm -rf "$EVALUATOR"
  stamp "training an evaluator (800 iterations)"
  "$engine" train-evaluator --data "$DATA" --iterations 800 --device cuda --out "$EVALUATOR" \
    2>"$WORK/evaluator.log"
fi
stamp "training a small base model: $BASE_ITERS iterations, batch $BASE_BATCH"
"$engine" train --preset small --data "$DATA" --iterations "$BASE_ITERS" --batch "$BASE_BATCH" \
  --device cuda --seed 1 --log-every 250 --out "$WORK/base" >"$WORK/train.log" 2>&1 ||
  { tail -5 "$WORK/train.log" >&2; exit 1; }
python3 -c "import json; t = json.load(open('$WORK/base/manifest.json'))['training'];
print('base: %d iterations, %.1f ms/it, %.0f s' % (t['iteration'], t['ms_per_iteration'],
      t['train_seconds']))" >&2
"$engine" evaluate --model "$WORK/base" --evaluator "$EVALUATOR" --data "$DATA" --device cuda \
  --json 2>/dev/null | tee "$WORK/base-metrics.json" >&2

# --- 3. unlearning vs retraining on the GPU --------------------------------------------
stamp "unlearning benchmark"
ENGINE=$engine BASE=$WORK/base EVALUATOR=$EVALUATOR DATA=$DATA OUT=$WORK/bench DEVICE=cuda \
  THREADS=4 MAX_ITERS=1000 MAX_SECONDS=120 RETRAIN_ITERS=0 \
  "$root/bench/unlearn_bench.sh" item64 class-sampled retrain
for f in "$WORK"/bench/*.json; do
  [[ $f == */summary.json ]] && continue
  echo "--- $(basename "$f")"
  cat "$f"
done
stamp "done"
