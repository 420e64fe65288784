// Optimisation-based GAN inversion: find each image's latent code w = argmin ||S(w) − x||²
// (+ an optional feature-space term). Every image of a chunk is optimised at once as one
// batch; each image's loss is its own mean, so images do not compete for step size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "engine/base/cancel.h"
#include "engine/models/generator.h"
#include "engine/unlearn/inversion_options.h"

namespace lethe::unlearn {

// Differentiable image features (the evaluator's penultimate layer), [N, F].
using FeatureFn = std::function<torch::Tensor(const torch::Tensor& images)>;
// Called after every optimisation step: steps done so far over all chunks, and the total.
using InversionProgressFn = std::function<void(int64_t done, int64_t total)>;

struct InversionResult {
  torch::Tensor w;    // [N, w_dim] on the generator's device
  torch::Tensor mse;  // [N] per-image MSE of S(w) (fixed noise) against the image, CPU
  double mean_mse = 0.0;
  double max_mse = 0.0;
  double seconds = 0.0;
};

// The learning rate of step `step` of `steps` (StyleGAN2-ADA's ramp): linear warm-up over
// the first `rampup` fraction, cosine decay over the last `rampdown` fraction.
double InversionLr(const InversionOptions& options, int64_t step, int64_t steps);
// The latent noise scale at `step`, as a multiple of w_std: quadratic decay to 0 at
// `noise_ramp` of the run.
double InversionNoise(const InversionOptions& options, int64_t step, int64_t steps);

// Inverts `images` [N, C, R, R] in [-1, 1] with class `labels` [N] through generator `g`
// (used frozen: its parameters get no gradient). Synthesis uses the model's fixed noise.
// Throws lethe::Error on mismatched shapes; stops with unlearn::Cancelled when `cancel`
// is set (checked every step).
InversionResult Invert(models::Generator& g, const torch::Tensor& images,
                       const torch::Tensor& labels, const InversionOptions& options,
                       const FeatureFn& features = nullptr, const CancelToken* cancel = nullptr,
                       const InversionProgressFn& progress = nullptr);

// For every row of `targets` [N, P], the index of the nearest row of `candidates` [K, P]
// in squared euclidean distance: [N] long.
torch::Tensor NearestRows(const torch::Tensor& targets, const torch::Tensor& candidates);

// Each image's start code under `options.start` (see InversionStart), [N, w_dim], from the
// class means `means` [C, w_dim].
torch::Tensor StartCodes(models::Generator& g, const torch::Tensor& images,
                         const torch::Tensor& labels, const InversionOptions& options,
                         const torch::Tensor& means);

// The white-box membership attack's reconstructor (metrics/reinversion_attack.h): inverts
// the images afresh into the generator under test with `options` and returns G(w*) with
// the model's fixed noise. Gradients are enabled inside, whatever the caller's mode.
std::function<torch::Tensor(models::Generator&, const torch::Tensor&, const torch::Tensor&)>
ReinversionReconstructor(const InversionOptions& options);
// The attack's inversion (GAN-Leaks' white-box setting): 100 steps in Z from the nearest of
// 256 samples of the class, so what the model can reproduce is what it can sample.
InversionOptions AttackInversionOptions(int64_t steps = 100, uint64_t seed = 0,
                                        InversionSpace space = InversionSpace::kZ);

// The spread of W: sqrt(E ||w − w̄_c||²) over `samples` codes of random classes.
double EstimateWStd(models::Generator& g, int64_t samples, uint64_t seed);

}  // namespace lethe::unlearn
