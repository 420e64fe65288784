// Arithmetic precision of forward passes, shared by training, inversion and the cascade so
// that a speed-up measured for one applies to all of them.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <string>

namespace lethe::train {

// Arithmetic of the forward passes. kBFloat16 runs convolutions and matrix products in
// bfloat16 under LibTorch's autocast (weights, optimiser state, losses and the R1 gradient
// stay float32). On CPUs with AMX it makes a single-threaded G+D step ~1.5x faster
// (bench/engine_train_bench.cc, TrainStepBf16); with two threads on a busy machine
// oneDNN's AMX weight-gradient kernel was measured to stall, so pair it with one thread
// there. Off by default: float32 is the reference.
enum class Precision { kFloat32, kBFloat16 };
Precision ParsePrecision(const std::string& name);  // "fp32" | "bf16"; throws otherwise
const char* PrecisionName(Precision precision);

// Enables bfloat16 autocast for the forward passes in its scope. Leaving the outermost
// scope drops autocast's cache of bfloat16 weight copies, which must not outlive an
// optimiser step.
class AutocastScope {
 public:
  AutocastScope(Precision precision, torch::Device device)
      : enabled_(precision == Precision::kBFloat16), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    if (cuda_) {
      previous_enabled_ = at::autocast::is_enabled();
      previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
      previous_enabled_ = at::autocast::is_cpu_enabled();
      previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_) {
      at::autocast::set_enabled(previous_enabled_);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_cpu_enabled(previous_enabled_);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_, cuda_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace lethe::train
