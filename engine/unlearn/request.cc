#include "engine/unlearn/request.h"

#include <cmath>

#include "engine/base/error.h"

namespace lethe::unlearn {

Json InversionOptions::ToJson() const {
  Json j = Json::Object();
  j["steps"] = steps;
  j["space"] = InversionSpaceName(space);
  j["start"] = InversionStartName(start);
  j["start_samples"] = start_samples;
  j["lr"] = lr;
  j["lr_rampup"] = lr_rampup;
  j["lr_rampdown"] = lr_rampdown;
  j["noise_factor"] = noise_factor;
  j["noise_ramp"] = noise_ramp;
  j["feature_weight"] = feature_weight;
  j["chunk"] = chunk;
  j["w_std_samples"] = w_std_samples;
  j["seed"] = int64_t(seed);
  j["precision"] = train::PrecisionName(precision);
  return j;
}

void ValidateInversionOptions(const InversionOptions& o) {
  if (o.steps < 0) throw Error("inversion steps must be non-negative");
  if (o.start_samples < 1) throw Error("inversion start samples must be at least 1");
}

std::string InversionSpaceName(InversionSpace space) {
  return space == InversionSpace::kW ? "w" : "z";
}

InversionSpace ParseInversionSpace(const std::string& name) {
  if (name == "w") return InversionSpace::kW;
  if (name == "z") return InversionSpace::kZ;
  throw Error("unknown inversion space '" + name + "' (w|z)");
}

std::string InversionStartName(InversionStart start) {
  return start == InversionStart::kClassMean ? "class-mean" : "nearest-sample";
}

InversionStart ParseInversionStart(const std::string& name) {
  if (name == "class-mean") return InversionStart::kClassMean;
  if (name == "nearest-sample") return InversionStart::kNearestSample;
  throw Error("unknown inversion start '" + name + "' (class-mean|nearest-sample)");
}

std::string ModeName(Mode mode) { return mode == Mode::kFewShot ? "few-shot" : "zero-shot"; }

Mode ParseMode(const std::string& name) {
  if (name == "few-shot") return Mode::kFewShot;
  if (name == "zero-shot") return Mode::kZeroShot;
  throw Error("unknown mode \"" + name + "\" (expected few-shot or zero-shot)");
}

std::string LatentSourceName(LatentSource source) {
  return source == LatentSource::kSampled ? "sampled" : "inverted";
}

LatentSource ParseLatentSource(const std::string& name) {
  if (name == "sampled") return LatentSource::kSampled;
  if (name == "inverted") return LatentSource::kInverted;
  throw Error("unknown latent source \"" + name + "\" (expected sampled or inverted)");
}

std::string RequestKindName(RequestKind kind) {
  return kind == RequestKind::kItem ? "item" : "class";
}

double GeneratorLr(const UnlearnRequest& request, double base_g_lr) {
  if (request.cascade.g_lr > 0) return request.cascade.g_lr;
  return request.kind == RequestKind::kItem ? base_g_lr * kItemGeneratorLrFactor : base_g_lr;
}

double AlphaPixel(const UnlearnRequest& request) {
  if (request.cascade.alpha_pixel) return *request.cascade.alpha_pixel;
  return request.kind == RequestKind::kItem ? kDefaultItemAlphaPixel : kDefaultClassAlphaPixel;
}

double AlphaPerceptual(const UnlearnRequest& request) {
  if (request.cascade.alpha_perceptual) return *request.cascade.alpha_perceptual;
  return request.kind == RequestKind::kClass ? kDefaultClassAlphaPerceptual : 0.0;
}

double DiscriminatorLr(const UnlearnRequest& request, double base_d_lr) {
  return request.cascade.d_lr > 0 ? request.cascade.d_lr : base_d_lr;
}

void ValidateRequest(const UnlearnRequest& r, int num_classes) {
  const auto sub = r.substitute.kind;
  if (r.kind == RequestKind::kItem) {
    if (sub == SubstituteKind::kOtherClass)
      throw Error(
          "the other-class substitute is for class requests; items take average, "
          "truncation or projection");
    if (r.forget.size() == 0) throw Error("the forget set is empty");
  } else {
    if (r.forget_class < 0 || r.forget_class >= num_classes)
      throw Error("forget class " + std::to_string(r.forget_class) + " is out of range for a " +
                  std::to_string(num_classes) + "-class model");
    if (sub != SubstituteKind::kAverage && sub != SubstituteKind::kOtherClass)
      throw Error("class requests take the average or other-class substitute, not " +
                  SubstituteName(sub));
    if (r.forget.size() == 0) throw Error("the forgotten class has no images");
  }
  if (r.forget.size() > 0) {
    if (r.forget.images.dim() != 4) throw Error("forget images must be [N, C, R, R]");
    if (r.forget.labels.numel() != r.forget.size())
      throw Error("forget set has " + std::to_string(r.forget.labels.numel()) + " labels for " +
                  std::to_string(r.forget.size()) + " items");
    auto lab = r.forget.labels.to(torch::kLong);
    if (lab.min().item<int64_t>() < 0 || lab.max().item<int64_t>() >= num_classes)
      throw Error("a forget label is outside the model's " + std::to_string(num_classes) +
                  " classes");
    if (r.kind == RequestKind::kClass && (lab != r.forget_class).any().item<bool>())
      throw Error("class request's forget set holds images of another class");
  }
  if (sub == SubstituteKind::kTruncation && !(r.substitute.psi >= 0 && r.substitute.psi < 1))
    throw Error("truncation psi must be in [0, 1), got " + std::to_string(r.substitute.psi));
  if (sub == SubstituteKind::kProjection && r.substitute.decay_iterations <= 0)
    throw Error("projection needs a positive decay length");
  const auto& c = r.cascade;
  if (!std::isfinite(c.zeta)) throw Error("the fake label must be a finite number");
  if (!(AlphaPixel(r) >= 0) || !(AlphaPerceptual(r) >= 0) || !(c.adversarial_weight >= 0))
    throw Error("loss weights must be non-negative");
  if (c.batch < 0) throw Error("batch must be positive");
  if (c.eval_every <= 0) throw Error("eval-every must be positive");
  if (c.eval_samples < 8) throw Error("eval-samples must be at least 8");
  if (c.fd_samples < 16) throw Error("fd-samples must be at least 16");
  if (c.max_iterations <= 0) throw Error("max-iterations must be positive");
  if (c.max_seconds < 0) throw Error("max-seconds must be non-negative");
  if (c.learning_steps < 0) throw Error("learning-steps must be non-negative");
  if (c.g_lr < 0 || c.d_lr < 0) throw Error("learning rates must be non-negative");
  const auto& d = r.destination;
  if (!(d.auc_threshold > 0.5 && d.auc_threshold <= 1.0))
    throw Error("auc threshold must be in (0.5, 1]");
  if (!(d.non_member_tolerance > 0 && d.non_member_tolerance < 0.5))
    throw Error("non-member tolerance must be in (0, 0.5)");
  if (!(d.generator_tolerance > 0 && d.generator_tolerance < 0.5))
    throw Error("generator tolerance must be in (0, 0.5)");
  if (!(d.substitute_fraction > 0 && d.substitute_fraction <= 1))
    throw Error("substitute fraction must be in (0, 1]");
  if (!(d.recognition_threshold >= 0 && d.recognition_threshold < 1))
    throw Error("recognition threshold must be in [0, 1)");
  if (d.attack_steps < 1) throw Error("attack steps must be at least 1");
  if (d.attack_members < 2) throw Error("attack members must be at least 2");
  if (r.kind == RequestKind::kClass) ClassFdThreshold(d);  // throws when neither is known
  ValidateInversionOptions(r.inversion);
}

Json ConfigJson(const UnlearnRequest& r) {
  Json j = Json::Object();
  j["kind"] = RequestKindName(r.kind);
  if (r.kind == RequestKind::kClass) {
    j["forget_class"] = r.forget_class;
    j["latents"] = LatentSourceName(r.latents);
  }
  j["forget_count"] = r.forget.size();
  j["mode"] = ModeName(r.mode);
  j["seed"] = int64_t(r.seed);
  Json s = Json::Object();
  s["kind"] = SubstituteName(r.substitute.kind);
  if (r.substitute.kind == SubstituteKind::kTruncation) s["psi"] = r.substitute.psi;
  if (r.substitute.kind == SubstituteKind::kProjection) {
    s["schedule"] = PsiScheduleName(r.substitute.schedule);
    s["decay_iterations"] = r.substitute.decay_iterations;
  }
  j["substitute"] = s;
  const auto& c = r.cascade;
  Json cj = Json::Object();
  cj["zeta"] = c.zeta;
  cj["zeta_on"] = c.zeta_on_logit ? "logit" : "sigmoid";
  cj["alpha_pixel"] = AlphaPixel(r);
  cj["alpha_perceptual"] = AlphaPerceptual(r);
  cj["adversarial_weight"] = c.adversarial_weight;
  cj["distill_weight"] = c.distill_weight;
  cj["batch"] = c.batch;
  cj["g_lr"] = c.g_lr;
  cj["d_lr"] = c.d_lr;
  cj["beta1"] = c.beta1;
  cj["beta2"] = c.beta2;
  cj["learning_steps"] = c.learning_steps;
  cj["eval_every"] = c.eval_every;
  cj["eval_samples"] = c.eval_samples;
  cj["fd_samples"] = c.fd_samples;
  cj["max_iterations"] = c.max_iterations;
  cj["max_seconds"] = c.max_seconds;
  cj["latent_pool"] = c.latent_pool;
  cj["chase_reinverted_codes"] = c.chase_reinverted_codes;
  cj["precision"] = train::PrecisionName(c.precision);
  j["cascade"] = cj;
  const auto& d = r.destination;
  Json dj = Json::Object();
  dj["policy"] = DestinationPolicyName(d.policy);
  dj["auc_threshold"] = d.auc_threshold;
  dj["fd_threshold"] = d.fd_threshold;
  dj["class_separation_fd"] = d.class_separation_fd;
  dj["non_member_tolerance"] = d.non_member_tolerance;
  if (d.policy == DestinationPolicy::kGenerator) {
    if (r.kind == RequestKind::kItem) {
      dj["generator_tolerance"] = d.generator_tolerance;
      dj["substitute_fraction"] = d.substitute_fraction;
      dj["attack_steps"] = d.attack_steps;
      dj["attack_members"] = d.attack_members;
    } else {
      dj["recognition_threshold"] = d.recognition_threshold;
    }
  }
  j["destination"] = dj;
  if (r.kind == RequestKind::kItem || r.latents == LatentSource::kInverted)
    j["inversion"] = r.inversion.ToJson();
  return j;
}

}  // namespace lethe::unlearn
