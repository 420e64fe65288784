// White-box membership attack on the generator by re-inversion (GAN-Leaks' white-box
// setting): invert every member and every control afresh into the generator under test,
// with the same budget for both, and score each by its reconstruction distance
// ||G(w*) − x||² (mean over pixels), calibrated (membership_attack.h). A generator that
// still holds a forgotten image reconstructs it better than never-seen images of its class:
// AUC > 0.5. The codes are found anew, never taken from the unlearning run, so the attack
// also finds an image the run hid from its own codes but not from the generator.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "engine/metrics/membership_attack.h"
#include "engine/models/generator.h"

namespace lethe::metrics {

// G(w*) for each image: the best reconstruction `g` can produce of `images` [N, C, R, R]
// conditioned on `labels` [N]. Injected (the engine's optimisation-based inversion), so
// metrics depend on no unlearning code.
using Reconstructor = std::function<torch::Tensor(
    models::Generator& g, const torch::Tensor& images, const torch::Tensor& labels)>;

// Members and controls are inverted together in one call: the same steps for both.
AttackResult ReinversionAttack(models::Generator& g, const AttackSets& sets,
                               const Reconstructor& reconstruct, torch::Device device);

// Per-image mean squared distance, [N] float64 on the CPU.
torch::Tensor PixelDistances(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace lethe::metrics
