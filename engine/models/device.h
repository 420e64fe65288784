// Device and thread selection shared by every engine entry point, so each CLI command and
// the worker configure LibTorch the same way.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lethe::models {

// "cpu", "cuda" or "cuda:N". Throws lethe::Error when the spelling is wrong or when this
// LibTorch build / machine has no such CUDA device.
torch::Device ParseDevice(const std::string& spec);

// Waits until the work queued on `device` has finished (a no-op on the CPU, where every op
// runs before it returns). Wall-clock timings of GPU work are taken after it, or they
// measure only how fast the host queued kernels.
void Synchronize(const torch::Device& device);

// A small host tensor (indices, codes, a batch) copied to `device` without waiting for the
// device's queued work: a blocking host-to-device copy would synchronise every step.
inline torch::Tensor ToDevice(const torch::Tensor& t, torch::Device device) {
  if (t.device() == device) return t;
  return t.to(torch::TensorOptions().device(device), /*non_blocking=*/true);
}

// Intra-op threads (and inter-op threads, which LibTorch allows to be set only once per
// process, before any parallel work). threads <= 0 means one per online core.
void ConfigureThreads(int threads);

}  // namespace lethe::models
