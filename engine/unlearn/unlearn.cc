#include "engine/unlearn/unlearn.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/base/error.h"
#include "engine/unlearn/model_util.h"
#include "engine/unlearn/probe.h"
#include "engine/unlearn/schedule.h"
#include "engine/unlearn/substitute.h"

namespace lethe::unlearn {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Json NumberOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(); }

}  // namespace

GanStepOptions GanOptionsFromManifest(const Json& manifest) {
  GanStepOptions o;
  if (!manifest.is_object() || !manifest.Has("training")) return o;
  const train::TrainOptions t = ScheduleFromManifest(manifest);
  o.g_lr = t.g_lr;
  o.d_lr = t.d_lr;
  o.beta1 = t.beta1;
  o.beta2 = t.beta2;
  o.r1_gamma = t.r1_gamma;
  o.r1_interval = t.r1_interval;
  o.w_avg_beta = t.w_avg_beta;
  return o;
}

// What the generator itself still makes of the forgotten content's codes: mean squared
// pixel distance of S(w_u) (constant noise) to the forgotten images x_u and to the
// substitute x_s = S0(Sub(w_u)) at the run's last iteration, for the raw G0 ("before") and
// the unlearned G ("after"). The destination judges D; these say whether G forgot too.
Json GeneratorForgetting(CascadeInputs& in, const UnlearnRequest& request, int64_t iteration) {
  torch::NoGradGuard no_grad;
  const int64_t n = in.w_u.size(0), chunk = 256;
  double rec0 = 0, rec1 = 0, sub0 = 0, sub1 = 0;
  int64_t closer0 = 0, closer1 = 0;
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = std::min(chunk, n - i);
    torch::Tensor w = in.w_u.narrow(0, i, m);
    torch::Tensor x = in.forget_images.narrow(0, i, m);
    torch::Tensor y = in.forget_labels.narrow(0, i, m);
    SubstituteLatents sub = Substitute(request.substitute, w, y, in.class_means,
                                       request.forget_class, std::max<int64_t>(0, iteration - 1));
    torch::Tensor target = in.g0->Synthesize(sub.w, models::NoiseMode::kConst);
    torch::Tensor before = in.g0->Synthesize(w, models::NoiseMode::kConst);
    torch::Tensor after = in.g->Synthesize(w, models::NoiseMode::kConst);
    auto sum_mse = [](const torch::Tensor& a, const torch::Tensor& b) {
      return (a - b).pow(2).flatten(1).mean(1).sum().item<double>();
    };
    closer0 += CloserToSubstituteCount(before, x, target);
    closer1 += CloserToSubstituteCount(after, x, target);
    rec0 += sum_mse(before, x);
    rec1 += sum_mse(after, x);
    sub0 += sum_mse(before, target);
    sub1 += sum_mse(after, target);
  }
  auto pair = [n](double b, double a) {
    Json j = Json::Object();
    j["before"] = b / double(n);
    j["after"] = a / double(n);
    return j;
  };
  Json j = Json::Object();
  j["reconstruction_mse"] = pair(rec0, rec1);  // to x_u: rises as G forgets
  j["substitute_mse"] = pair(sub0, sub1);      // to x_s: falls as G maps w_u to it
  // Share of items whose G(w_u) is closer to x_s than to x_u (the generator policy's test).
  j["closer_to_substitute_fraction"] = pair(double(closer0), double(closer1));
  return j;
}

Json MeasurementJson(const Measurement& m) {
  Json j = Json::Object();
  j["iteration"] = m.iteration;
  j["auc_u"] = NumberOrNull(m.auc_u);
  j["logan_auc"] = NumberOrNull(m.logan_auc);
  j["fd_u"] = NumberOrNull(m.fd_u);
  j["closer_to_substitute"] = NumberOrNull(m.closer_to_substitute);
  j["generator_auc"] = NumberOrNull(m.generator_auc);
  j["class_recognition"] = NumberOrNull(m.class_recognition);
  return j;
}

UnlearnResult Unlearn(const models::Checkpoint& base, const metrics::Evaluator& evaluator,
                      const UnlearnRequest& request, RetainedSource* retained,
                      const data::Dataset& test, const ProgressFn& progress,
                      const CancelToken* cancel) {
  const auto start = Clock::now();
  if (!base.generator || !base.discriminator) throw Error("base checkpoint has no networks");
  const models::ModelConfig& cfg = base.config;
  ValidateRequest(request, cfg.num_classes);
  if (request.forget.channels() != cfg.img_channels ||
      request.forget.resolution() != cfg.resolution)
    throw Error("forget images are " + std::to_string(request.forget.channels()) + "x" +
                std::to_string(request.forget.resolution()) + " but the model makes " +
                std::to_string(cfg.img_channels) + "x" + std::to_string(cfg.resolution));
  const bool zero_shot = request.mode == Mode::kZeroShot;
  if (!zero_shot && (!retained || !retained->reads_retained_images()))
    throw Error("few-shot unlearning needs a source of retained images");
  const torch::Device device = ModuleDevice(*base.generator);
  torch::manual_seed(request.seed);

  UnlearnResult result;
  CascadeInputs in;
  in.g0 = FrozenCopy(base.generator, device);
  in.d0 = FrozenCopy(base.discriminator, device);
  in.g = CopyModule(base.generator, device);
  in.d = CopyModule(base.discriminator, device);
  in.g->train();
  in.d->train();
  for (auto& p : in.g->parameters()) p.requires_grad_(true);
  for (auto& p : in.d->parameters()) p.requires_grad_(true);
  in.class_means = ClassMeans(in.g0, 1024, request.seed);
  in.forget_images = request.forget.images.to(device, torch::kFloat);
  in.forget_labels = request.forget.labels.to(device, torch::kLong);
  in.evaluator = &evaluator;
  in.gan = GanOptionsFromManifest(base.manifest);

  // Step 1: the forgotten content's codes.
  const bool invert =
      request.kind == RequestKind::kItem || request.latents == LatentSource::kInverted;
  if (invert) {
    FeatureFn features;
    if (request.inversion.feature_weight > 0)
      features = [&evaluator](const torch::Tensor& x) { return evaluator.FeaturesWithGrad(x); };
    InversionProgressFn inv_progress;
    if (progress)
      inv_progress = [&](int64_t done, int64_t total) {
        Progress p;
        p.phase = Phase::kInverting;
        p.iteration = done;
        p.total = total;
        p.seconds = Since(start);
        p.eta_seconds = done > 0 ? p.seconds / double(done) * double(total - done) : 0;
        progress(p);
      };
    result.inversion = Invert(in.g0, in.forget_images, in.forget_labels, request.inversion,
                              features, cancel, inv_progress);
    in.w_u = result.inversion.w;
  }

  // Step 2-5: the cascade, with its stopping rule.
  std::unique_ptr<RetainedSource> own_source;
  RetainedSource* source = retained;
  if (zero_shot) {
    // Built here from G0 alone: the zero-shot path is never handed retained data.
    own_source = std::make_unique<RawGeneratorSamples>(
        in.g0, request.kind == RequestKind::kClass ? request.forget_class : -1, request.seed + 7,
        device);
    source = own_source.get();
  }
  ProbeOptions probe_options;
  probe_options.reference_samples = request.cascade.eval_samples;
  probe_options.fd_samples = request.cascade.fd_samples;
  probe_options.seed = request.seed + 5;
  // AUC_u's reference: retained images in few-shot; in zero-shot never-trained test images
  // of the retained classes (real images, as retained ones are, but no training data), or
  // raw-generator samples when there is no test split.
  RealBatch reference;
  std::string reference_name = source->Describe();
  const int64_t excluded = request.kind == RequestKind::kClass ? request.forget_class : -1;
  data::Dataset test_reference =
      zero_shot ? TestReference(test, excluded, request.cascade.eval_samples, request.seed + 3)
                : data::Dataset();
  if (test_reference.size() > 0) {
    reference = RealBatch{test_reference.images, test_reference.labels, test_reference.ids};
    reference_name = "test images of the retained classes";
  } else {
    reference = source->Held(request.cascade.eval_samples);
  }
  DestinationProbe probe(request.kind, request.forget_class, request.forget, reference, test,
                         &evaluator, cfg.z_dim, probe_options, device);
  if (request.destination.policy == DestinationPolicy::kNonMember && !probe.has_test())
    throw Error("the non-member destination needs test images of the forgotten classes");
  if (request.destination.policy == DestinationPolicy::kGenerator &&
      request.kind == RequestKind::kItem) {
    if (!probe.has_test())
      throw Error(
          "the generator destination needs test images of the forgotten classes to attack the "
          "generator with (use a data set with a test split, or --destination paper)");
    probe.ArmGeneratorAttack(
        request.forget, test,
        AttackInversionOptions(request.destination.attack_steps, request.seed + 19),
        request.destination.attack_members, request.seed + 23);
  }
  result.cascade = RunCascade(in, request, *source, probe, progress, cancel);
  const CascadeResult& c = result.cascade;

  // The published model samples with its class means: refresh them for the new mapping.
  if (base.generator->HasClassMeans()) {
    int64_t samples = 4096;
    if (base.manifest.is_object() && base.manifest.Has("training"))
      samples = base.manifest.at("training").GetInt("class_mean_samples", samples);
    torch::NoGradGuard no_grad;
    in.g->ComputeClassMeans(samples, request.seed);
  }
  in.g->eval();
  for (auto& p : in.g->parameters()) p.requires_grad_(false);
  const Json generator_forgetting =
      invert ? GeneratorForgetting(in, request, c.iterations) : Json();
  for (auto& p : in.d->parameters()) p.requires_grad_(false);
  result.generator = in.g;
  result.discriminator = in.d;
  result.destination_reached = c.reached;
  result.seconds_total = Since(start);

  // The report (the caller adds "before" and "after").
  Json r = Json::Object();
  r["destination_reached"] = c.reached;
  const Verdict& chosen = request.destination.policy == DestinationPolicy::kPaper ? c.paper
                          : request.destination.policy == DestinationPolicy::kNonMember
                              ? c.non_member
                              : c.generator;
  Json dest = VerdictJson(chosen);
  dest["policy"] = DestinationPolicyName(request.destination.policy);
  dest["stop_reason"] = c.stop_reason;
  r["destination"] = dest;
  Json policies = Json::Object();
  policies["paper"] = VerdictJson(c.paper);
  policies["non_member"] = VerdictJson(c.non_member);
  policies["generator"] = VerdictJson(c.generator);
  r["policies"] = policies;
  r["iterations"] = c.iterations;
  Json seconds = Json::Object();
  seconds["inversion"] = result.inversion.seconds;
  seconds["unlearning"] = c.seconds_unlearning;
  seconds["evaluation"] = c.seconds_evaluation;
  seconds["total"] = result.seconds_total;
  r["seconds"] = seconds;
  if (invert) {
    Json inv = Json::Object();
    inv["count"] = result.inversion.mse.numel();
    inv["mean_mse"] = result.inversion.mean_mse;
    inv["max_mse"] = result.inversion.max_mse;
    inv["steps"] = request.inversion.steps;
    r["inversion"] = inv;
  } else {
    r["inversion"] = Json();
  }
  r["generator_forgetting"] = generator_forgetting;
  Json config = ConfigJson(request);
  Json gan = Json::Object();
  gan["g_lr"] = GeneratorLr(request, in.gan.g_lr);
  gan["d_lr"] = DiscriminatorLr(request, in.gan.d_lr);
  gan["betas"] = Json::ArrayOf(std::vector<double>{in.gan.beta1, in.gan.beta2});
  gan["r1_gamma"] = in.gan.r1_gamma;
  gan["r1_interval"] = int64_t(in.gan.r1_interval);
  config["gan"] = gan;
  config["cascade"]["batch"] = std::min(ForgetBatchSize(request), request.forget.size());
  r["config"] = config;
  Json probe_json = Json::Object();
  probe_json["reference"] = reference_name;
  probe_json["learning_source"] = source->Describe();
  probe_json["reference_count"] = probe.reference_count();
  probe_json["test_count"] = probe.test_count();
  probe_json["initial"] = MeasurementJson(c.initial);
  probe_json["final"] = MeasurementJson(c.last);
  r["probe"] = probe_json;
  Json trace = Json::Array();
  for (const auto& m : c.trace) trace.Push(MeasurementJson(m));
  r["trace"] = trace;
  result.report = r;
  return result;
}

}  // namespace lethe::unlearn
