// Small helpers for working with copies of the base model: frozen copies (the raw G0 and
// D0 the cascade compares against), scoped gradient freezing and the per-class means of W.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/models/device.h"
#include "engine/models/generator.h"

namespace lethe::unlearn {

// Deep copy of a Cloneable module holder on `device`.
template <typename Holder>
Holder CopyModule(const Holder& m, torch::Device device) {
  using Impl = typename Holder::ContainedType;
  return Holder(std::dynamic_pointer_cast<Impl>(m->clone(device)));
}

// A copy with no parameter requiring gradient, in eval mode: the raw G0 / D0.
template <typename Holder>
Holder FrozenCopy(const Holder& m, torch::Device device) {
  Holder c = CopyModule(m, device);
  for (auto& p : c->parameters()) p.requires_grad_(false);
  c->eval();
  return c;
}

// Turns off requires_grad on a module's parameters for a scope, restoring it after.
class FreezeScope {
 public:
  explicit FreezeScope(torch::nn::Module& m) {
    for (auto& p : m.parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FreezeScope() {
    for (auto& [p, flag] : saved_) p.requires_grad_(flag);
  }
  FreezeScope(const FreezeScope&) = delete;
  FreezeScope& operator=(const FreezeScope&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

// w̄_c for every class, [C, w_dim] on the generator's device: the model's stored class
// means when it has them, else the mean of Map(z, c) over `samples` codes per class
// (computed without touching the model).
torch::Tensor ClassMeans(models::Generator& g, int64_t samples = 1024, uint64_t seed = 0);

// How many of `generated` [N, ...] are closer (mean squared pixel distance) to their
// substitute `substitute` than to the forgotten image `forgotten`.
int64_t CloserToSubstituteCount(const torch::Tensor& generated, const torch::Tensor& forgotten,
                                const torch::Tensor& substitute);

// The generator's device (where its parameters live).
torch::Device ModuleDevice(const torch::nn::Module& m);

using models::ToDevice;

}  // namespace lethe::unlearn
