#include "engine/unlearn/inversion.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "engine/base/error.h"
#include "engine/data/sampler.h"
#include "engine/train/precision.h"
#include "engine/unlearn/cancelled.h"
#include "engine/unlearn/model_util.h"

namespace lethe::unlearn {

double InversionLr(const InversionOptions& o, int64_t step, int64_t steps) {
  const double t = steps > 0 ? double(step) / double(steps) : 1.0;
  double ramp = o.lr_rampdown > 0 ? std::min(1.0, (1.0 - t) / o.lr_rampdown) : 1.0;
  ramp = 0.5 - 0.5 * std::cos(ramp * M_PI);
  if (o.lr_rampup > 0) ramp *= std::min(1.0, t / o.lr_rampup);
  return o.lr * ramp;
}

double InversionNoise(const InversionOptions& o, int64_t step, int64_t steps) {
  if (o.noise_ramp <= 0 || steps <= 0) return 0.0;
  const double t = double(step) / double(steps);
  const double r = std::max(0.0, 1.0 - t / o.noise_ramp);
  return o.noise_factor * r * r;
}

double EstimateWStd(models::Generator& g, int64_t samples, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const auto& cfg = g->config();
  const torch::Device device = ModuleDevice(*g);
  torch::Generator rng = data::MakeGenerator(seed);
  torch::Tensor z = torch::randn({samples, int64_t(cfg.z_dim)}, rng).to(device);
  torch::Tensor labels = torch::randint(cfg.num_classes, {samples}, rng, torch::kLong).to(device);
  torch::Tensor means = ClassMeans(g, 256, seed);
  torch::Tensor w = g->Map(z, labels);
  torch::Tensor d = w - means.index_select(0, labels);
  return std::sqrt(d.pow(2).sum(1).mean().item<double>());
}

torch::Tensor NearestRows(const torch::Tensor& targets, const torch::Tensor& candidates) {
  // ||t − c||² = ||t||² − 2 t·c + ||c||², without the [N, K, P] difference tensor.
  torch::Tensor t = targets.to(torch::kFloat32);
  torch::Tensor c = candidates.to(torch::kFloat32);
  torch::Tensor dist = t.pow(2).sum(1, true) - 2 * t.matmul(c.t()) + c.pow(2).sum(1).unsqueeze(0);
  return dist.argmin(1);
}

namespace {

// For each class present in `labels`: draws `start_samples` z of the class, turns them
// into candidate codes with `candidates(c, z)` and gives each image of the class the
// candidate whose synthesis (fixed noise) is nearest in pixels; rows of `start` are
// overwritten, [N, code_dim].
using CandidateFn = std::function<torch::Tensor(int64_t c, const torch::Tensor& z)>;
using SynthFn = std::function<torch::Tensor(const torch::Tensor& codes, int64_t c)>;
torch::Tensor NearestCandidates(models::Generator& g, const torch::Tensor& images,
                                const torch::Tensor& labels, const InversionOptions& options,
                                torch::Tensor start, const CandidateFn& candidates,
                                const SynthFn& synthesize) {
  const torch::Device device = ModuleDevice(*g);
  const int64_t k = options.start_samples;
  torch::Generator rng = data::MakeGenerator(options.seed + 2);
  torch::Tensor y = labels.to(device, torch::kLong);
  torch::Tensor x = images.to(device, torch::kFloat32).flatten(1);
  torch::Tensor classes = std::get<0>(torch::_unique(y.to(torch::kCPU)));
  for (int64_t i = 0; i < classes.size(0); ++i) {
    const int64_t c = classes[i].item<int64_t>();
    torch::Tensor rows = (y == c).nonzero().flatten();
    torch::Tensor z = torch::randn({k, int64_t(g->config().z_dim)}, rng).to(device);
    torch::Tensor codes = candidates(c, z);
    std::vector<torch::Tensor> synth;
    for (int64_t b = 0; b < codes.size(0); b += 256) {
      train::AutocastScope autocast(options.precision, device);
      synth.push_back(synthesize(codes.narrow(0, b, std::min<int64_t>(256, codes.size(0) - b)), c)
                          .to(torch::kFloat32)
                          .flatten(1));
    }
    torch::Tensor nearest = NearestRows(x.index_select(0, rows), torch::cat(synth));
    start.index_copy_(0, rows, codes.index_select(0, nearest));
  }
  return start;
}

torch::Tensor ClassLabels(int64_t n, int64_t c, torch::Device device) {
  return torch::full({n}, c, torch::dtype(torch::kLong).device(device));
}

}  // namespace

torch::Tensor StartCodes(models::Generator& g, const torch::Tensor& images,
                         const torch::Tensor& labels, const InversionOptions& options,
                         const torch::Tensor& means) {
  torch::NoGradGuard no_grad;
  const torch::Device device = ModuleDevice(*g);
  torch::Tensor start = means.index_select(0, labels.to(device, torch::kLong)).clone();
  if (options.start == InversionStart::kClassMean || images.size(0) == 0) return start;
  return NearestCandidates(
      g, images, labels, options, start,
      [&](int64_t c, const torch::Tensor& z) {
        // Candidate 0 is the class mean, so the start is never farther than StyleGAN2-ADA's.
        return torch::cat({means.narrow(0, c, 1), g->Map(z, ClassLabels(z.size(0), c, device))});
      },
      [&](const torch::Tensor& w, int64_t) { return g->Synthesize(w, models::NoiseMode::kConst); });
}

namespace {

// Z space: each image's start z is the nearest (in pixels) of `start_samples` z drawn for
// its class, [N, z_dim].
torch::Tensor StartLatentsZ(models::Generator& g, const torch::Tensor& images,
                            const torch::Tensor& labels, const InversionOptions& options) {
  torch::NoGradGuard no_grad;
  const torch::Device device = ModuleDevice(*g);
  torch::Tensor start =
      torch::zeros({images.size(0), int64_t(g->config().z_dim)}, torch::device(device));
  return NearestCandidates(
      g, images, labels, options, start, [](int64_t, const torch::Tensor& z) { return z; },
      [&](const torch::Tensor& z, int64_t c) {
        return g->forward(z, ClassLabels(z.size(0), c, device), models::NoiseMode::kConst);
      });
}

}  // namespace

InversionResult Invert(models::Generator& g, const torch::Tensor& images,
                       const torch::Tensor& labels, const InversionOptions& options,
                       const FeatureFn& features, const CancelToken* cancel,
                       const InversionProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  const auto& cfg = g->config();
  if (images.dim() != 4 || images.size(1) != cfg.img_channels || images.size(2) != cfg.resolution ||
      images.size(3) != cfg.resolution)
    throw Error("inversion: images must be [N, " + std::to_string(cfg.img_channels) + ", " +
                std::to_string(cfg.resolution) + ", " + std::to_string(cfg.resolution) +
                "] for this model");
  if (labels.dim() != 1 || labels.size(0) != images.size(0))
    throw Error("inversion: need one label per image");
  const int64_t n = images.size(0);
  const torch::Device device = ModuleDevice(*g);
  FreezeScope freeze(*g);
  const bool was_training = g->is_training();
  g->eval();

  InversionResult result;
  const bool z_space = options.space == InversionSpace::kZ;
  torch::Tensor starts;
  double w_std = 1.0;  // Z space: z ~ N(0, I), so its noise is in units of 1
  if (z_space) {
    starts = StartLatentsZ(g, images, labels, options);
  } else {
    torch::Tensor means = ClassMeans(g, 1024, options.seed);
    starts = StartCodes(g, images, labels, options, means);
    w_std = EstimateWStd(g, options.w_std_samples, options.seed);
  }
  torch::Generator rng = data::MakeGenerator(options.seed + 1);
  const int64_t chunk = options.chunk <= 0 ? std::max<int64_t>(n, 1) : options.chunk;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int64_t total_steps = chunks * options.steps;
  int64_t done = 0;
  std::vector<torch::Tensor> ws, errors;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t len = std::min(chunk, n - begin);
    torch::Tensor x = images.narrow(0, begin, len).to(device, torch::kFloat);
    torch::Tensor y = labels.narrow(0, begin, len).to(device, torch::kLong);
    torch::Tensor target_features;
    if (features && options.feature_weight > 0) {
      torch::NoGradGuard no_grad;
      target_features = features(x).detach();
    }
    torch::Tensor w = starts.narrow(0, begin, len).clone().requires_grad_(true);
    torch::optim::Adam opt({w}, torch::optim::AdamOptions(options.lr).betas({0.9, 0.999}));
    auto& group_options = static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options());
    for (int64_t step = 0; step < options.steps; ++step) {
      if (cancel && cancel->cancelled()) throw Cancelled();
      group_options.lr(InversionLr(options, step, options.steps));
      const double noise = w_std * InversionNoise(options, step, options.steps);
      torch::Tensor w_in = w;
      if (noise > 0) w_in = w + ToDevice(torch::randn(w.sizes(), rng), device) * noise;
      torch::Tensor synth, synth_features;
      {
        train::AutocastScope autocast(options.precision, device);
        if (z_space) w_in = g->Map(w_in, y);
        synth = g->Synthesize(w_in, models::NoiseMode::kConst).to(torch::kFloat32);
        if (target_features.defined()) synth_features = features(synth).to(torch::kFloat32);
      }
      torch::Tensor loss = (synth - x).pow(2).flatten(1).mean(1).sum();
      if (target_features.defined())
        loss = loss + options.feature_weight *
                          (synth_features - target_features).pow(2).flatten(1).mean(1).sum();
      opt.zero_grad();
      loss.backward();
      opt.step();
      ++done;
      if (progress) progress(done, total_steps);
    }
    torch::NoGradGuard no_grad;
    // The result is always a w (for Z space, M(z, c) of the optimised z).
    torch::Tensor final_w = z_space ? g->Map(w.detach(), y) : w.detach();
    torch::Tensor synth = g->Synthesize(final_w, models::NoiseMode::kConst);
    errors.push_back((synth - x).pow(2).flatten(1).mean(1).to(torch::kCPU));
    ws.push_back(final_w);
  }
  if (was_training) g->train();
  if (n == 0) {
    result.w = torch::empty({0, int64_t(cfg.w_dim)}, torch::TensorOptions().device(device));
    result.mse = torch::empty({0});
  } else {
    result.w = torch::cat(ws);
    result.mse = torch::cat(errors);
    result.mean_mse = result.mse.mean().item<double>();
    result.max_mse = result.mse.max().item<double>();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::function<torch::Tensor(models::Generator&, const torch::Tensor&, const torch::Tensor&)>
ReinversionReconstructor(const InversionOptions& options) {
  ValidateInversionOptions(options);
  return [options](models::Generator& g, const torch::Tensor& images, const torch::Tensor& labels) {
    torch::AutoGradMode grad(true);
    InversionResult r = Invert(g, images, labels, options);
    torch::NoGradGuard no_grad;
    return g->Synthesize(r.w, models::NoiseMode::kConst).detach();
  };
}

InversionOptions AttackInversionOptions(int64_t steps, uint64_t seed, InversionSpace space) {
  InversionOptions o;
  o.steps = steps;
  o.space = space;
  o.start = InversionStart::kNearestSample;
  o.start_samples = 256;
  o.seed = seed;
  return o;
}

}  // namespace lethe::unlearn
