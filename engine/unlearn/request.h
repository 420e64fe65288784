// Everything one unlearning run is told, as one typed struct: what to forget, how (mode,
// substitute, fake label, loss weights), when to stop (destination, budgets) and the
// optimiser. ConfigJson() is the report's "config" section, so a report names every
// hyperparameter and seed that produced its model.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/train/precision.h"
#include "engine/unlearn/destination.h"
#include "engine/unlearn/inversion_options.h"
#include "engine/unlearn/substitute.h"

namespace lethe::unlearn {

enum class Mode {
  kFewShot,   // the learning phase reads a random sample of retained images
  kZeroShot,  // it reads none: samples of the frozen raw generator stand in for them
};
std::string ModeName(Mode mode);  // "few-shot" / "zero-shot"
Mode ParseMode(const std::string& name);

// Class requests: where the forgotten class's latent codes come from.
enum class LatentSource {
  kSampled,   // w = M(z, c_u) from the class's own region, no inversion
  kInverted,  // every image of the class inverted (slow for a whole class)
};
std::string LatentSourceName(LatentSource source);
LatentSource ParseLatentSource(const std::string& name);

std::string RequestKindName(RequestKind kind);  // "item" / "class"

struct CascadeOptions {
  double zeta = 0.1;           // fake label ζ for forgotten images
  bool zeta_on_logit = false;  // false: (σ(D(x_u)) − ζ)²; true: (D(x_u) − ζ)²
  // Weights of MSE(S(w_u), x_s) and of the feature distance MSE(φ(S(w_u)), φ(x_s));
  // unset: the request kind's default (AlphaPixel(), AlphaPerceptual()).
  std::optional<double> alpha_pixel;
  std::optional<double> alpha_perceptual;
  double adversarial_weight = 1.0;   // weight of L_adv(S(w_u))
  double distill_weight = 1.0;       // zero-shot: weight of (D(x_g) − D0(x_g))²
  int64_t batch = 0;                 // forget codes per iteration; 0 = min(|D_u|, 64)
  double g_lr = 0.0;                 // Adam step of G; 0 = GeneratorLr() of the base's
  double d_lr = 0.0;                 // Adam step of D; 0 = the base model's
  double beta1 = 0.0, beta2 = 0.99;  // overwritten by the base model's schedule when known
  int64_t learning_steps = 1;        // learning-phase steps per unlearning step
  int64_t eval_every = 20;           // iterations between destination checks
  int64_t eval_samples = 512;        // held retained / test images per destination check
  int64_t fd_samples = 1000;         // class requests: generated images for FD_u
  int64_t max_iterations = 2000;     // budget; reaching it unreached is "not reached"
  double max_seconds = 0.0;          // wall-clock budget of the cascade; 0 = none
  int64_t latent_pool = 0;           // class, sampled: 0 = fresh codes every iteration,
                                     // else a fixed pool of this many codes
  // Generator destination (items): codes the generator-side attack re-found for forgotten
  // images are pulled to the substitute as well (cascade.h).
  bool chase_reinverted_codes = true;
  train::Precision precision = train::Precision::kFloat32;  // forward passes (precision.h)
};

// Class requests, unless told otherwise, add the feature-distance term with this weight
// (item requests: 0).
inline constexpr double kDefaultClassAlphaPerceptual = 0.5;
// Item requests, unless told otherwise, weight the pixel term this much (class: 1): with
// G's small step (kItemGeneratorLrFactor) a weight of 1 leaves G(w_u) where it was
// (distance to the substitute unchanged), 10 halves it at FD_l +5 % (docs/results.md).
inline constexpr double kDefaultItemAlphaPixel = 10.0;
inline constexpr double kDefaultClassAlphaPixel = 1.0;

// Item requests move G with a fraction of the base schedule's step. The destination (AUC_u)
// is D's; a freshly started Adam at the full training step drags the whole generator
// (FD_l 5.8 -> 21 on item-64); at a twentieth FD_l stays within about 5 % and the
// destination is reached as fast (docs/results.md). A class must move far in G (FD_u past the class
// separation), so class requests keep the full step.
inline constexpr double kItemGeneratorLrFactor = 0.05;

struct UnlearnRequest;
// The Adam steps the cascade uses: the request's when set, else as described above.
double GeneratorLr(const UnlearnRequest& request, double base_g_lr);
double DiscriminatorLr(const UnlearnRequest& request, double base_d_lr);
// The loss weights the cascade uses: the request's when set, else the kind's defaults above.
double AlphaPixel(const UnlearnRequest& request);
double AlphaPerceptual(const UnlearnRequest& request);

struct UnlearnRequest {
  RequestKind kind = RequestKind::kItem;
  int64_t forget_class = -1;  // class requests
  // The forgotten images (item requests: the items; class requests: the class's
  // training images, used as x_u and as the real side of FD_u).
  data::Dataset forget;
  Mode mode = Mode::kFewShot;
  LatentSource latents = LatentSource::kSampled;  // class requests only
  SubstituteOptions substitute;
  InversionOptions inversion;
  CascadeOptions cascade;
  DestinationOptions destination;
  uint64_t seed = 0;
};

// Throws lethe::Error naming the first inconsistent field (e.g. other-class for items).
void ValidateRequest(const UnlearnRequest& request, int num_classes);

// Every hyperparameter and seed, for the report.
Json ConfigJson(const UnlearnRequest& request);

}  // namespace lethe::unlearn
