// The cascade: an unlearning phase and a learning phase, alternated until the destination
// is reached or the budget runs out.
//
// Unlearning phase (both modes), on a batch of forgotten images x_u and their codes w:
//   D: E[(f(D(x_u)) − ζ)²] + E[softplus(D(G(z)))]      f = σ (default) or identity
//   G: α_pix·MSE(S(w), x_s) + α_per·MSE(φ(S(w)), φ(x_s)) + E[softplus(−D(S(w), c_s))]
// where x_s = S0(substitute(w)) comes from the FROZEN raw generator G0: a fixed,
// meaningful target that the run cannot drag along with it (with the current G, the
// target would move with every step and could itself be damaged by unlearning), and one
// that is computed once for every static substitute. c_s is the class the substitute
// depicts (the item's own class; c* for other-class).
//
// Learning phase (protects everything else), `learning_steps` times per iteration:
//   few-shot: one ordinary GAN step (logistic D loss + lazy R1 as in base training,
//             non-saturating G loss) on an equal-sized random sample of retained images;
//   zero-shot: real images are replaced by x_g = G0(z, c) (c ≠ c_u):
//             D: E[softplus(−D(x_g))] + E[(D(x_g) − D0(x_g))²] + E[softplus(D(G(z)))];
//             G: the ordinary loss.
//
// Generator destination (items): each time the generator-side attack runs, the codes it
// re-found for the forgotten images — codes that still draw them — join the unlearning
// phase's G step with their substitutes (CascadeOptions::chase_reinverted_codes), so the
// run removes what the attack sees rather than only what w_u draws.
//
// Codes: items (and class requests with inverted latents) use their inverted w_u, fixed.
// Class requests with sampled latents use w = M(z, c_u) of the CURRENT mapping network,
// with gradient, because that is exactly what the published model will generate from.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/cancel.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"
#include "engine/unlearn/destination.h"
#include "engine/unlearn/probe.h"
#include "engine/unlearn/progress.h"
#include "engine/unlearn/request.h"
#include "engine/unlearn/retained_source.h"

namespace lethe::unlearn {

// The optimiser and regulariser settings of the GAN steps (from the base schedule).
struct GanStepOptions {
  double g_lr = 0.0025, d_lr = 0.0025;
  double beta1 = 0.0, beta2 = 0.99;
  double r1_gamma = 0.2;
  int r1_interval = 16;
  double w_avg_beta = 0.995;
};

struct CascadeInputs {
  models::Generator g{nullptr};       // trained in place
  models::Discriminator d{nullptr};   // trained in place
  models::Generator g0{nullptr};      // frozen raw generator
  models::Discriminator d0{nullptr};  // frozen raw discriminator (zero-shot distillation)
  torch::Tensor forget_images;        // x_u [N, C, R, R] on the model's device
  torch::Tensor forget_labels;        // [N] int64
  torch::Tensor w_u;                  // [N, w_dim] fixed codes, or undefined: sample M(z, c_u)
  torch::Tensor class_means;          // G0's w̄_c [C, w_dim]
  const metrics::Evaluator* evaluator = nullptr;  // φ, required when alpha_perceptual > 0
  GanStepOptions gan;
};

struct CascadeResult {
  int64_t iterations = 0;
  bool reached = false;     // the requested policy's destination, at the last measurement
  std::string stop_reason;  // "destination reached", "iteration budget", "time budget"
  Measurement initial, last;
  Verdict paper, non_member, generator;  // every policy judged on `last`
  std::vector<Measurement> trace;
  double seconds_unlearning = 0;  // the cascade's steps (both phases)
  double seconds_evaluation = 0;  // destination checks
};

// Runs the cascade. `source` serves the learning phase and the probe's reference sample.
// Throws unlearn::Cancelled when `cancel` is set (checked every iteration).
CascadeResult RunCascade(CascadeInputs& in, const UnlearnRequest& request, RetainedSource& source,
                         DestinationProbe& probe, const ProgressFn& progress = nullptr,
                         const CancelToken* cancel = nullptr);

// The forget batch size actually used: request.cascade.batch, or min(|D_u|, 64). A fixed
// batch keeps an iteration's cost independent of |D_u|; larger forget sets are cycled
// through in shuffled passes.
inline constexpr int64_t kDefaultForgetBatch = 64;
int64_t ForgetBatchSize(const UnlearnRequest& request);

}  // namespace lethe::unlearn
