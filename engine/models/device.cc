#include "engine/models/device.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <cstdlib>
#include <thread>

#include "engine/base/error.h"

namespace lethe::models {

torch::Device ParseDevice(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  int index = 0;
  if (spec == "cuda") {
    index = 0;
  } else if (spec.rfind("cuda:", 0) == 0) {
    std::string digits = spec.substr(5);
    char* end = nullptr;
    long v = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || v < 0 || v > 255)
      throw Error("invalid device \"" + spec + "\" (expected cpu, cuda or cuda:N)");
    index = int(v);
  } else {
    throw Error("invalid device \"" + spec + "\" (expected cpu, cuda or cuda:N)");
  }
  if (!torch::cuda::is_available())
    throw Error("device \"" + spec +
                "\" requested but CUDA is not available (this LibTorch build or machine has "
                "no GPU); use --device cpu");
  int count = int(torch::cuda::device_count());
  if (index >= count)
    throw Error("device \"" + spec + "\" requested but only " + std::to_string(count) +
                " CUDA device(s) exist");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void Synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

namespace {

// Cores this process may run on (its affinity mask), which can be fewer than the machine's.
int UsableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

void ConfigureThreads(int threads) {
  if (threads <= 0) threads = UsableCores();
  torch::set_num_threads(threads);
  try {
    at::set_num_interop_threads(threads);
  } catch (const c10::Error&) {
    // Already fixed for this process (set before, or parallel work has started): the
    // intra-op count above is the one that matters for training speed.
  }
}

}  // namespace lethe::models
