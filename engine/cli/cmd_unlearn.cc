// lethe-engine unlearn: cascaded unlearning of items or a class, with a verified report.
//
// This command does the I/O around the engine (engine/unlearn/): load the model, the
// evaluator and the data (unlearn_io.h), evaluate before and after, and write the new
// version only once it is complete. Exit status: 0 when the destination is reached and
// the model written; 3 when the destination was not reached within the budget (the report
// is still written); 130 when interrupted (nothing written); 1 on errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/base/cancel.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/png.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/unlearn_io.h"
#include "engine/data/dataset.h"
#include "engine/data/sampler.h"
#include "engine/metrics/class_separation.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/registry.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"
#include "engine/unlearn/forgetting_summary.h"
#include "engine/unlearn/grid.h"
#include "engine/unlearn/inversion.h"
#include "engine/unlearn/lineage.h"
#include "engine/unlearn/model_util.h"
#include "engine/unlearn/retained_source.h"
#include "engine/unlearn/unlearn.h"

namespace lethe::cli {
namespace {

// Never-seen test images of the same classes as `images`' labels, one per image (fewer when
// the test split runs out of a class).
data::Dataset Controls(const data::Dataset& test, const torch::Tensor& labels) {
  std::map<int64_t, size_t> used;
  std::vector<int64_t> rows;
  torch::Tensor l = labels.to(torch::kCPU, torch::kLong).contiguous();
  for (int64_t i = 0; i < l.numel(); ++i) {
    const int64_t c = l.data_ptr<int64_t>()[i];
    std::vector<int64_t> of_class = test.IndicesOfClass(c);
    if (used[c] < of_class.size()) rows.push_back(of_class[used[c]++]);
  }
  return test.Subset(rows);
}

// Item requests, what a DPO looks at: the forgotten images; what the old version produced
// for them (G0(w_u)); the closest the new version can produce now (a fresh re-inversion,
// the white-box attack's view); then never-seen test images of the same classes and their
// re-inversions (the control: what the new version makes of images it never saw). Class
// requests: the class's images, G0(z, c_u), G(z, c_u). Then, per other class, G0(z, c) and
// G(z, c) for the same z (so changes elsewhere in the model are visible).
Image8 UnlearningGrid(const Inputs& in, const unlearn::UnlearnResult& r, int64_t forget_class,
                      const metrics::Reconstructor& reconstruct, uint64_t seed) {
  const int64_t n = std::min<int64_t>(8, in.split.forgotten.size());
  models::Generator g0 = in.model.generator;
  models::Generator g1 = r.generator;
  const torch::Device device = unlearn::ModuleDevice(*g0);
  torch::Generator rng = data::MakeGenerator(seed);
  std::vector<torch::Tensor> rows;
  torch::Tensor x = in.split.forgotten.images.narrow(0, 0, n);
  rows.push_back(x);
  if (r.inversion.w.defined() && r.inversion.w.size(0) >= n) {
    torch::Tensor y = in.split.forgotten.labels.narrow(0, 0, n);
    torch::Tensor w = r.inversion.w.narrow(0, 0, n).to(device);
    {
      torch::NoGradGuard no_grad;
      rows.push_back(g0->Synthesize(w, models::NoiseMode::kConst));
    }
    rows.push_back(reconstruct(g1, x.to(device), y.to(device)));
    const data::Dataset controls = in.has_test ? Controls(in.test, y) : data::Dataset();
    if (controls.size() > 0) {
      rows.push_back(controls.images);
      rows.push_back(reconstruct(g1, controls.images.to(device), controls.labels.to(device)));
    }
  } else {
    torch::NoGradGuard no_grad;
    torch::Tensor z = torch::randn({n, g0->config().z_dim}, rng).to(device);
    torch::Tensor c = torch::full({n}, forget_class, torch::kLong).to(device);
    rows.push_back(g0->forward(z, c, models::NoiseMode::kConst));
    rows.push_back(g1->forward(z, c, models::NoiseMode::kConst));
  }
  torch::NoGradGuard no_grad;
  for (int64_t c = 0; c < g0->config().num_classes && c < 10; ++c) {
    if (c == forget_class) continue;
    torch::Tensor z = torch::randn({8, g0->config().z_dim}, rng).to(device);
    torch::Tensor l = torch::full({8}, c, torch::kLong).to(device);
    rows.push_back(g0->forward(z, l, models::NoiseMode::kConst));
    rows.push_back(g1->forward(z, l, models::NoiseMode::kConst));
  }
  return unlearn::ImageGrid(rows);
}

// Per attack |after − reference| (null where either is missing), every metric both share,
// and FD between the two generators' samples.
Json DistanceToReference(const Json& after, const Json& reference, double generators_fd) {
  Json d = Json::Object();
  Json mia = Json::Object();
  for (const auto& [name, value] : after.at("mia").items()) {
    const Json& r = reference.at("mia");
    mia[name] = value.is_number() && r.Has(name) && r.at(name).is_number()
                    ? Json(std::fabs(value.AsDouble() - r.at(name).AsDouble()))
                    : Json();
  }
  d["mia"] = mia;
  Json metrics = Json::Object();
  for (const auto& [name, value] : after.items())
    if (value.is_number() && reference.Has(name) && reference.at(name).is_number())
      metrics[name] = value.AsDouble() - reference.at(name).AsDouble();
  d["after_minus_reference"] = metrics;
  d["generator_fd"] = generators_fd;
  return d;
}

constexpr const char* kUnlearnHelp =
    "usage: lethe-engine unlearn --model DIR --evaluator DIR (--forget-items FILE |\n"
    "         --forget-class C) --out DIR --report FILE [--data SPEC] [--exclude FILE]\n"
    "         [--mode few-shot|zero-shot] [--substitute average|truncation|projection|\n"
    "         other-class] [--psi P] [--psi-schedule linear|cosine] [--decay-iterations N]\n"
    "         [--fake-label Z] [--zeta-on-logit] [--alpha-pixel A] [--alpha-perceptual B]\n"
    "         [--destination generator|paper|non-member] [--auc-threshold 0.8]\n"
    "         [--fd-threshold X] [--non-member-tolerance 0.1] [--generator-tolerance 0.1]\n"
    "         [--substitute-fraction 0.9] [--recognition-threshold 0.1] [--attack-steps 100]\n"
    "         [--attack-members 64] [--attack-samples 10000] [--reference-model DIR]\n"
    "         [--latents sampled|inverted] [--latent-pool N]\n"
    "         [--max-iterations N] [--max-seconds S] [--eval-every K] [--eval-samples N]\n"
    "         [--fd-samples N] [--batch B] [--lr LR] [--g-lr LR] [--d-lr LR]\n"
    "         [--learning-steps N] [--retained-pool N]\n"
    "         [--inversion-steps N] [--inversion-lr LR] [--inversion-feature-weight W]\n"
    "         [--inversion-start nearest-sample|class-mean] [--inversion-start-samples K]\n"
    "         [--num-generated N] [--max-real N] [--max-scored N] [--seed S]\n"
    "         [--device cpu|cuda[:N]] [--threads T] [--precision fp32|bf16] [--grid PNG]\n"
    "         [--no-chase] [--write-unreached] [--quiet]\n"
    "Defaults: few-shot, average (items) / other-class (class), fake label 0.1 on sigmoid(D),\n"
    "alpha-pixel 10 (items) / 1 (class), alpha-perceptual 0 (items) / 0.5 (class), the\n"
    "generator destination (items: D no longer flags the images, G(w_u) closer to the\n"
    "substitute for 90 %, and the re-inversion attack on G within 0.5 +- 0.1; class: the paper's\n"
    "rule and at most 10 % of generated class images still classified as it; --destination\n"
    "paper keeps the paper's AUC_u >= 0.8 exactly; the codes the generator-side attack re-finds\n"
    "for forgotten images are pulled to the substitute too, unless --no-chase), sampled class\n"
    "codes, few-shot pool of max(8192, |D_u|) retained images\n"
    "(the paper's: |D_u|), G step 0.05x the base schedule's for items (the full step for a\n"
    "class), D step the base's; inversion: 200 steps from the class mean (nearest-sample:\n"
    "from the closest of K codes of the class). FILE lists one training item id per line (e.g.\n"
    "train/123); --exclude lists tombstoned items that must never be read. Writes the new\n"
    "model to DIR (its manifest names the parent digest and every forgotten item with its\n"
    "hash) and a JSON report with before/after membership attacks (before.mia, after.mia:\n"
    "discriminator_auc, generator_whitebox_auc, generator_blackbox_auc); --reference-model\n"
    "(a model retrained without the forget set) adds reference.mia and distance_to_reference.\n"
    "Without --data, the data set recorded in the model's manifest is used.\n"
    "Exit status 0: destination reached and model written; 3: destination not reached\n"
    "(report written, model only with --write-unreached); 130: interrupted; 1: error.\n";

}  // namespace

int RunUnlearn(int argc, char** argv) {
  Flags flags(argc, argv,
              {"model",
               "evaluator",
               "forget-items",
               "forget-class",
               "data",
               "exclude",
               "mode",
               "substitute",
               "psi",
               "psi-schedule",
               "decay-iterations",
               "fake-label",
               "alpha-pixel",
               "alpha-perceptual",
               "destination",
               "generator-tolerance",
               "substitute-fraction",
               "recognition-threshold",
               "attack-steps",
               "attack-members",
               "attack-samples",
               "reference-model",
               "auc-threshold",
               "fd-threshold",
               "non-member-tolerance",
               "latents",
               "latent-pool",
               "precision",
               "max-iterations",
               "max-seconds",
               "eval-every",
               "eval-samples",
               "fd-samples",
               "batch",
               "lr",
               "g-lr",
               "d-lr",
               "learning-steps",
               "retained-pool",
               "inversion-steps",
               "inversion-lr",
               "inversion-feature-weight",
               "inversion-start",
               "inversion-start-samples",
               "num-generated",
               "max-real",
               "max-scored",
               "seed",
               "device",
               "threads",
               "out",
               "report",
               "grid"},
              {"help", "zeta-on-logit", "write-unreached", "quiet", "no-chase"});
  if (flags.GetBool("help")) {
    std::fputs(kUnlearnHelp, stdout);
    return 0;
  }
  const auto start = Clock::now();
  const std::string out = flags.Require("out");
  const std::string report_path = flags.Require("report");
  flags.Require("evaluator");
  RequireEmptyOutput(out);
  if (flags.Has("grid") && !PngSupported()) throw Error("--grid needs a build with libpng");
  const bool quiet = flags.GetBool("quiet");

  // The request, validated before anything heavy is loaded.
  unlearn::UnlearnRequest req;
  const bool is_class = flags.Has("forget-class");
  req.kind = is_class ? unlearn::RequestKind::kClass : unlearn::RequestKind::kItem;
  req.mode = unlearn::ParseMode(flags.Get("mode", "few-shot"));
  req.substitute.kind =
      unlearn::ParseSubstitute(flags.Get("substitute", is_class ? "other-class" : "average"));
  req.substitute.psi = flags.GetDouble("psi", req.substitute.psi);
  req.substitute.schedule = unlearn::ParsePsiSchedule(flags.Get("psi-schedule", "linear"));
  req.substitute.decay_iterations =
      flags.GetInt("decay-iterations", req.substitute.decay_iterations);
  auto& c = req.cascade;
  c.zeta = flags.GetDouble("fake-label", 0.1);
  c.zeta_on_logit = flags.GetBool("zeta-on-logit");
  if (flags.Has("alpha-pixel")) c.alpha_pixel = flags.GetDouble("alpha-pixel", 0.0);
  if (flags.Has("alpha-perceptual")) c.alpha_perceptual = flags.GetDouble("alpha-perceptual", 0.0);
  c.max_iterations = flags.GetInt("max-iterations", c.max_iterations);
  c.max_seconds = flags.GetDouble("max-seconds", c.max_seconds);
  c.eval_every = flags.GetInt("eval-every", c.eval_every);
  c.eval_samples = flags.GetInt("eval-samples", c.eval_samples);
  c.fd_samples = flags.GetInt("fd-samples", c.fd_samples);
  c.batch = flags.GetInt("batch", c.batch);
  c.g_lr = c.d_lr = flags.GetDouble("lr", 0.0);
  c.g_lr = flags.GetDouble("g-lr", c.g_lr);
  c.d_lr = flags.GetDouble("d-lr", c.d_lr);
  c.learning_steps = flags.GetInt("learning-steps", c.learning_steps);
  c.latent_pool = flags.GetInt("latent-pool", c.latent_pool);
  c.chase_reinverted_codes = !flags.GetBool("no-chase");
  c.precision = train::ParsePrecision(flags.Get("precision", "fp32"));
  req.inversion.precision = c.precision;
  req.latents = unlearn::ParseLatentSource(flags.Get("latents", "sampled"));
  auto& d = req.destination;
  d.policy = unlearn::ParseDestinationPolicy(flags.Get("destination", "generator"));
  d.generator_tolerance = flags.GetDouble("generator-tolerance", d.generator_tolerance);
  d.substitute_fraction = flags.GetDouble("substitute-fraction", d.substitute_fraction);
  d.recognition_threshold = flags.GetDouble("recognition-threshold", d.recognition_threshold);
  d.attack_steps = flags.GetInt("attack-steps", d.attack_steps);
  d.attack_members = flags.GetInt("attack-members", d.attack_members);
  d.auc_threshold = flags.GetDouble("auc-threshold", d.auc_threshold);
  d.fd_threshold = flags.GetDouble("fd-threshold", d.fd_threshold);
  d.non_member_tolerance = flags.GetDouble("non-member-tolerance", d.non_member_tolerance);
  req.inversion.steps = flags.GetInt("inversion-steps", req.inversion.steps);
  req.inversion.lr = flags.GetDouble("inversion-lr", req.inversion.lr);
  req.inversion.feature_weight = flags.GetDouble("inversion-feature-weight", 0.0);
  req.inversion.start = unlearn::ParseInversionStart(
      flags.Get("inversion-start", unlearn::InversionStartName(req.inversion.start)));
  req.inversion.start_samples =
      flags.GetInt("inversion-start-samples", req.inversion.start_samples);
  req.seed = uint64_t(flags.GetInt("seed", 0));
  req.inversion.seed = req.seed;
  const int64_t retained_pool = flags.GetInt("retained-pool", -1);

  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const torch::Device device = models::ParseDevice(flags.Get("device", "cpu"));
  Inputs in = LoadInputs(flags, device);
  metrics::Evaluator evaluator = metrics::Evaluator::Load(flags.Get("evaluator"), device);
  CheckEvaluator(evaluator, in.model.config, flags.Get("evaluator"));
  req.forget = in.split.forgotten;
  req.forget_class = in.forget_class;
  if (is_class && d.fd_threshold <= 0) {
    // The scale-free destination: a property of the data set, measured like the evaluator
    // itself on the real classes (an evaluation constant, not data the cascade trains on).
    d.class_separation_fd = metrics::ClassSeparationFd(
        in.split.retained,
        metrics::StatsOf(evaluator, in.split.forgotten,
                         metrics::SampleIndices(in.split.forgotten.size(), 5000, req.seed)),
        evaluator, in.forget_class, 5000, req.seed);
  }
  unlearn::ValidateRequest(req, in.model.config.num_classes);
  const double load_seconds = SecondsSince(start);

  // A reference model (retrained without the forget set) is loaded before any work, so a
  // wrong path fails at once.
  std::optional<models::Checkpoint> reference;
  if (flags.Has("reference-model")) {
    reference = models::LoadCheckpoint(flags.Get("reference-model"), device);
    if (reference->config.resolution != in.model.config.resolution ||
        reference->config.img_channels != in.model.config.img_channels ||
        reference->config.num_classes != in.model.config.num_classes)
      throw Error("--reference-model " + flags.Get("reference-model") +
                  " makes other images than the model");
  }

  const metrics::MetricInputs metric_inputs =
      MetricInputsFor(in, flags, evaluator, device, req.seed);
  auto t0 = Clock::now();
  Json before = Evaluate(metric_inputs, in.model.generator, in.model.discriminator);
  before["mia"] = metrics::MiaJson(before);
  double audit_seconds = SecondsSince(t0);
  const std::string parent_digest = models::CheckpointDigest(in.model_dir);

  std::unique_ptr<unlearn::RetainedImages> retained;
  if (req.mode == unlearn::Mode::kFewShot)
    retained = std::make_unique<unlearn::RetainedImages>(
        in.split.retained, in.excluded,
        retained_pool < 0 ? unlearn::DefaultRetainedPool(req.forget.size()) : retained_pool,
        req.seed + 1, device);

  CancelToken cancel;
  SignalCancel on_signal(&cancel);
  unlearn::Phase last_phase = unlearn::Phase::kEvaluating;
  auto progress = [&](const unlearn::Progress& p) {
    if (quiet) return;
    const bool phase_change = p.phase != last_phase;
    last_phase = p.phase;
    if (p.phase == unlearn::Phase::kInverting) {
      if (phase_change || p.iteration == p.total || p.iteration % 50 == 0)
        std::fprintf(stderr, "inverting: step %lld/%lld (%.1f s)\n", (long long)p.iteration,
                     (long long)p.total, p.seconds);
    } else if (p.phase == unlearn::Phase::kEvaluating) {
      // Printed after the measurement, with the unlearning line below.
    } else if (phase_change) {
      std::fprintf(stderr,
                   "unlearning: iteration %lld/%lld  auc_u %.3f  logan_auc %.3f  fd_u %.3f  "
                   "(%.1f s, eta <= %.0f s)\n",
                   (long long)p.iteration, (long long)p.total, p.auc_u, p.logan_auc, p.fd_u,
                   p.seconds, p.eta_seconds);
    }
  };
  unlearn::UnlearnResult result;
  try {
    result = unlearn::Unlearn(in.model, evaluator, req, retained.get(), in.test, progress, &cancel);
  } catch (const unlearn::Cancelled&) {
    std::fprintf(stderr, "lethe-engine unlearn: interrupted; nothing was written\n");
    return kExitInterrupted;
  }

  t0 = Clock::now();
  Json after = Evaluate(metric_inputs, result.generator, result.discriminator);
  after["mia"] = metrics::MiaJson(after);
  audit_seconds += SecondsSince(t0);

  Json report = result.report;
  report["before"] = before;
  report["after"] = after;
  if (reference) {
    t0 = Clock::now();
    Json ref = Evaluate(metric_inputs, reference->generator, reference->discriminator);
    ref["mia"] = metrics::MiaJson(ref);
    ref["model"] = flags.Get("reference-model");
    ref["digest"] = models::CheckpointDigest(flags.Get("reference-model"));
    report["reference"] = ref;
    report["distance_to_reference"] = DistanceToReference(
        after, ref,
        metrics::FdBetweenGenerators(metric_inputs, result.generator, reference->generator));
    report["seconds"]["reference_evaluation"] = SecondsSince(t0);
  }
  report["summary"] = unlearn::ForgettingSummary(report, d.generator_tolerance);
  report["seconds"]["load"] = load_seconds;
  report["seconds"]["before_after_evaluation"] = audit_seconds;
  Json data_json = Json::Object();
  data_json["dataset"] = in.split.retained.name;
  data_json["retained"] = in.split.retained.size();
  data_json["forgotten"] = in.split.forgotten.size();
  data_json["test"] = in.has_test ? in.test.size() : int64_t(0);
  data_json["tombstoned_excluded"] = int64_t(in.excluded.size() - in.split.forgotten.ids.size());
  report["data"] = data_json;
  report["parent"] = parent_digest;
  report["config"]["device"] = device.str();
  report["config"]["threads"] = int64_t(torch::get_num_threads());
  report["config"]["retained_pool"] = retained ? retained->pool_size() : int64_t(0);
  report["config"]["evaluation"] = Json::Object();
  report["config"]["evaluation"]["num_generated"] = metric_inputs.num_generated;
  report["config"]["evaluation"]["max_real"] = metric_inputs.max_real;
  report["config"]["evaluation"]["max_scored"] = metric_inputs.max_scored;
  report["config"]["evaluation"]["seed"] = int64_t(metric_inputs.seed);

  const bool write_model = result.destination_reached || flags.GetBool("write-unreached");
  report["model_written"] = write_model;
  if (write_model) {
    Json how = Json::Object();
    how["method"] = "cascade";
    how["config"] = report.at("config");
    how["destination"] = report.at("destination");
    how["destination_reached"] = result.destination_reached;
    how["iterations"] = report.at("iterations");
    models::Checkpoint child;
    child.config = in.model.config;
    child.generator = result.generator;
    child.discriminator = result.discriminator;
    models::SaveCheckpoint(
        out, child,
        unlearn::ChildManifest(in.model.manifest, parent_digest, in.split.forgotten, how));
    report["out"] = out;
    report["digest"] = models::CheckpointDigest(out);
  }
  if (flags.Has("grid"))
    WritePngFile(flags.Get("grid"),
                 UnlearningGrid(in, result, in.forget_class, metric_inputs.reconstruct, req.seed));
  report["seconds"]["wall"] = SecondsSince(start);
  WriteJsonFile(report_path, report);
  if (!quiet)
    std::fprintf(stderr,
                 "%s after %lld iterations: %s = %.4f (needs %s); inversion %.1f s, cascade "
                 "%.1f s, checks %.1f s, total %.1f s\n",
                 result.destination_reached ? "destination reached" : "DESTINATION NOT REACHED",
                 (long long)result.cascade.iterations,
                 report.at("destination").at("metric").AsString().c_str(),
                 report.at("destination").GetDouble("value", 0),
                 report.at("destination").at("requirement").AsString().c_str(),
                 result.inversion.seconds, result.cascade.seconds_unlearning,
                 result.cascade.seconds_evaluation, result.seconds_total);
  if (!quiet) std::fprintf(stderr, "%s\n", report.at("summary").AsString().c_str());
  std::cout << report.Dump() << std::endl;
  return result.destination_reached ? 0 : kExitNotReached;
}

}  // namespace lethe::cli
