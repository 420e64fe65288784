// Settings of optimisation-based GAN inversion (kept apart from inversion.h so request
// structs can hold them without pulling in the model headers).
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/json.h"
#include "engine/train/precision.h"

namespace lethe::unlearn {

// Where each image's code starts. The class mean is StyleGAN2-ADA's start; the nearest
// sample starts from whichever of `start_samples` codes drawn from the image's class (and
// the class mean itself) synthesises the image closest in pixels — never worse than the
// mean, at a cost independent of the number of images, and as good after 100 steps as the
// mean after 200. The mean stays the default: codes found from a sample stay where G's own
// samples lie, so pulling them to the substitute costs more of the remaining classes'
// quality (item-64: FD_l +16 % against +5 %, docs/results.md).
enum class InversionStart { kClassMean, kNearestSample };
std::string InversionStartName(InversionStart start);
InversionStart ParseInversionStart(const std::string& name);  // throws lethe::Error

// What is optimised. W: one free w per image (StyleGAN2-ADA's projector; it reaches images
// the generator never draws, which is what unlearning needs). Z: the input z of the mapping
// network, w = M(z, c) — only what the generator can actually sample, as GAN-Leaks'
// white-box attack does, so an image the model never learnt stays far away.
enum class InversionSpace { kW, kZ };
std::string InversionSpaceName(InversionSpace space);
InversionSpace ParseInversionSpace(const std::string& name);  // throws lethe::Error

// As StyleGAN2-ADA's projector: Adam on one w per image, with a learning-rate ramp (cosine
// ramp-down, linear ramp-up) and latent noise that decays quadratically to zero over the
// first `noise_ramp` of the run.
struct InversionOptions {
  int64_t steps = 200;
  InversionSpace space = InversionSpace::kW;
  InversionStart start = InversionStart::kClassMean;  // Z space: always the nearest sample
  int64_t start_samples = 256;                        // codes drawn per class for kNearestSample
  double lr = 0.1;
  double lr_rampup = 0.05;       // fraction of the run
  double lr_rampdown = 0.25;     // fraction of the run
  double noise_factor = 0.05;    // initial noise = noise_factor * w_std
  double noise_ramp = 0.75;      // fraction of the run over which noise decays to 0
  double feature_weight = 0.0;   // weight of MSE between evaluator features (0 = pixels only)
  int64_t chunk = 2048;          // images optimised together (bounds memory); 0 = all
  int64_t w_std_samples = 2048;  // codes sampled to estimate the spread of W
  uint64_t seed = 0;
  train::Precision precision = train::Precision::kFloat32;  // of the synthesis passes

  Json ToJson() const;
};

// Throws lethe::Error naming the first invalid setting (negative steps, no start samples).
void ValidateInversionOptions(const InversionOptions& options);

}  // namespace lethe::unlearn
