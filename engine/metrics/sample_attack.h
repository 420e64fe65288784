// Black-box membership attack on the generator (GAN-Leaks' full black-box setting): draw
// N samples of each class the attack needs from the generator, as anyone who downloads or
// queries the model can, and score each member and control by its distance to the nearest
// sample of its own class (mean squared pixel distance), calibrated
// (membership_attack.h). A generator that reproduces a forgotten image draws samples close
// to it: AUC > 0.5.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "engine/metrics/membership_attack.h"
#include "engine/models/generator.h"

namespace lethe::metrics {

struct SampleAttackOptions {
  int64_t samples_per_class = 10000;  // N
  int64_t batch = 500;                // generated per forward pass
  uint64_t seed = 0;
};

AttackResult SampleAttack(models::Generator& g, const AttackSets& sets,
                          const SampleAttackOptions& options, torch::Device device);

// For each row of `queries` [Q, P], the smallest mean squared distance to a row of
// `candidates` [K, P], [Q] float64 (no [Q, K, P] tensor is formed).
torch::Tensor NearestDistances(const torch::Tensor& queries, const torch::Tensor& candidates);

}  // namespace lethe::metrics
