// Arithmetic precision of forward passes, shared by training, inversion and the cascade so
// that a speed-up measured for one applies to all of them.
#pragma once

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
  AutocastScope(Precision precision, torch::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  torch::DeviceType device_type_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace lethe::train
