#include "engine/train/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "engine/base/error.h"

namespace lethe::train {
namespace {

// LibTorch 2.4 replaced the per-device autocast switches (set_cpu_enabled, …) with ones
// taking the device type, and deprecated the old ones; Debian ships 1.13, a GPU machine's
// PyTorch is usually newer. Only CPU and CUDA are used here.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool AutocastEnabled(torch::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
at::ScalarType AutocastDtype(torch::DeviceType type) {
  return at::autocast::get_autocast_dtype(type);
}
void SetAutocast(torch::DeviceType type, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(type, enabled);
  at::autocast::set_autocast_dtype(type, dtype);
}
#else
bool AutocastEnabled(torch::DeviceType type) {
  return type == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
at::ScalarType AutocastDtype(torch::DeviceType type) {
  return type == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                              : at::autocast::get_autocast_cpu_dtype();
}
void SetAutocast(torch::DeviceType type, bool enabled, at::ScalarType dtype) {
  if (type == torch::kCUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
}
#endif

}  // namespace

Precision ParsePrecision(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  throw Error("unknown precision \"" + name + "\" (expected fp32 or bf16)");
}

const char* PrecisionName(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

AutocastScope::AutocastScope(Precision precision, torch::Device device)
    : enabled_(precision == Precision::kBFloat16),
      device_type_(device.is_cuda() ? torch::kCUDA : torch::kCPU) {
  if (!enabled_) return;
  previous_enabled_ = AutocastEnabled(device_type_);
  previous_dtype_ = AutocastDtype(device_type_);
  SetAutocast(device_type_, true, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetAutocast(device_type_, previous_enabled_, previous_dtype_);
}

}  // namespace lethe::train
