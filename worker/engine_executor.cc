#include "worker/engine_executor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"
#include "engine/data/content_hash.h"
#include "engine/data/dataset.h"
#include "engine/data/image_convert.h"
#include "engine/metrics/class_separation.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/registry.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"
#include "engine/unlearn/model_util.h"
#include "engine/unlearn/retrain.h"
#include "engine/unlearn/forgetting_summary.h"
#include "engine/unlearn/unlearn.h"
#include "worker/job_report.h"

namespace lethe::worker {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A job-specific, reproducible seed.
uint64_t SeedOf(const std::string& job_id) {
  std::string h = Sha256Hex(job_id);
  return std::stoull(h.substr(0, 15), nullptr, 16);
}

// Thrown between the engine's own checks when the CancelToken is set.
struct StopRequested {};

void CheckCancel(const CancelToken* cancel) {
  if (cancel != nullptr && cancel->cancelled()) throw StopRequested{};
}

// Wraps the few-shot source: records what it serves and refuses any forbidden id, so the
// exclusion of forgotten items is enforced at the point where retained data is read.
class CheckedSource : public unlearn::RetainedSource {
 public:
  CheckedSource(unlearn::RetainedSource& inner, const std::set<std::string>& forbidden)
      : inner_(inner), forbidden_(forbidden) {}
  unlearn::RealBatch Draw(int64_t n) override { return Check(inner_.Draw(n)); }
  unlearn::RealBatch Held(int64_t n) override { return Check(inner_.Held(n)); }
  bool reads_retained_images() const override { return inner_.reads_retained_images(); }
  std::string Describe() const override { return inner_.Describe(); }
  const std::set<std::string>& served() const { return served_; }

 private:
  unlearn::RealBatch Check(unlearn::RealBatch b) {
    for (const std::string& id : b.ids) {
      if (forbidden_.count(id)) {
        throw Error("retained source served forgotten item " + id + "; refusing to continue");
      }
      served_.insert(id);
    }
    return b;
  }
  unlearn::RetainedSource& inner_;
  const std::set<std::string>& forbidden_;
  std::set<std::string> served_;
};

struct Hyper {
  unlearn::UnlearnRequest request;  // everything but the forget set
  Json applied = Json::Object();
};

unlearn::SubstituteKind SubstituteOf(const std::string& name) {
  if (name == "average") return unlearn::SubstituteKind::kAverage;
  if (name == "truncation") return unlearn::SubstituteKind::kTruncation;
  if (name == "projection") return unlearn::SubstituteKind::kProjection;
  if (name == "other_class") return unlearn::SubstituteKind::kOtherClass;
  throw Error("unknown substitute \"" + name + "\"");
}

// The request's stored settings (forget_requests.mode/substitute/params, written by the
// server from the API's Hyperparameters) mapped onto the engine's request.
void ApplySettings(const RequestInput& r, const EngineOptions& opts, unlearn::UnlearnRequest* req) {
  if (r.mode == "few_shot") {
    req->mode = unlearn::Mode::kFewShot;
  } else if (r.mode == "zero_shot") {
    req->mode = unlearn::Mode::kZeroShot;
  } else {
    throw Error("unknown mode \"" + r.mode + "\"");
  }
  req->substitute.kind = SubstituteOf(r.substitute);
  const Json& p = r.params;
  if (!p.is_object()) return;
  if (p.Has("fake_label")) req->cascade.zeta = p.at("fake_label").AsDouble();
  if (p.GetString("fake_label_target", "") == "logit") req->cascade.zeta_on_logit = true;
  if (p.Has("alpha_pixel")) req->cascade.alpha_pixel = p.at("alpha_pixel").AsDouble();
  if (p.Has("alpha_perceptual")) {
    req->cascade.alpha_perceptual = p.at("alpha_perceptual").AsDouble();
  }
  if (p.Has("iteration_budget")) req->cascade.max_iterations = p.at("iteration_budget").AsInt();
  if (p.Has("truncation_psi")) req->substitute.psi = p.at("truncation_psi").AsDouble();
  const std::string dest = p.GetString("destination", "");
  const bool has_t = p.Has("destination_threshold");
  const double t = has_t ? p.at("destination_threshold").AsDouble() : 0.0;
  if (dest == "generator" || dest.empty()) {
    req->destination.policy = unlearn::DestinationPolicy::kGenerator;
    if (has_t && req->kind == unlearn::RequestKind::kItem) req->destination.generator_tolerance = t;
    if (has_t && req->kind == unlearn::RequestKind::kClass) {
      req->destination.recognition_threshold = t;
    }
  } else if (dest == "forget_auc") {
    req->destination.policy = unlearn::DestinationPolicy::kPaper;
    if (has_t) req->destination.auc_threshold = t;
  } else if (dest == "non_member") {
    req->destination.policy = unlearn::DestinationPolicy::kNonMember;
    if (has_t) req->destination.non_member_tolerance = t;
  } else if (dest == "class_fd_absolute") {
    req->destination.policy = unlearn::DestinationPolicy::kPaper;
    req->destination.fd_threshold = t;
  } else if (dest == "class_fd_relative") {
    req->destination.policy = unlearn::DestinationPolicy::kPaper;
  } else {
    throw Error("unknown destination policy \"" + dest + "\"");
  }
  req->destination.attack_steps = opts.attack_steps;
}

// sample.png: one row per class, `columns` images each, from a private RNG.
std::string SampleGridPng(models::Generator& g, int64_t columns, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const models::ModelConfig& c = g->config();
  const torch::Device device = unlearn::ModuleDevice(*g);
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t k = c.num_classes;
  torch::Tensor z = torch::randn({k * columns, c.z_dim}, gen, torch::kFloat);
  torch::Tensor labels = torch::arange(k, torch::kLong).repeat_interleave(columns);
  bool was_training = g->is_training();
  g->eval();
  torch::Tensor img = g->forward(z.to(device), labels.to(device), models::NoiseMode::kConst);
  if (was_training) g->train();
  img = ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch::kCPU, torch::kUInt8);
  // [N, C, R, R] -> grid [k*R, columns*R, C]
  const int64_t r = c.resolution, ch = c.img_channels;
  img = img.view({k, columns, ch, r, r}).permute({0, 3, 1, 4, 2}).contiguous();
  Image8 out;
  out.height = int(k * r);
  out.width = int(columns * r);
  out.channels = int(ch);
  out.pixels.assign(img.data_ptr<uint8_t>(), img.data_ptr<uint8_t>() + img.numel());
  return EncodePng(out);
}

// An uploaded image as a model image, after checking its content hash.
torch::Tensor DecodeUpload(const RequestItemInput& item, const ModelInfo& model,
                           const std::string& request_id) {
  Image8 img;
  std::string error;
  PngLimits limits;
  const int channels = int(model.item_channels > 0 ? model.item_channels : model.img_channels);
  if (!DecodePng(*item.png, channels, limits, &img, &error)) {
    throw Error("request " + request_id + " item " + std::to_string(item.ordinal) +
                ": uploaded image does not decode: " + error);
  }
  if (data::ContentHash(img) != item.sha256) {
    throw Error("request " + request_id + " item " + std::to_string(item.ordinal) +
                ": uploaded image does not match its recorded SHA-256");
  }
  torch::Tensor hwc =
      torch::from_blob(img.pixels.data(), {1, img.height, img.width, img.channels}, torch::kUInt8)
          .clone();
  return data::ToModelImages(hwc, int(model.resolution));
}

data::Dataset Concat(const data::Dataset& a, const data::Dataset& b) {
  if (b.size() == 0) return a;
  if (a.size() == 0) return b;
  data::Dataset out = a;
  out.images = torch::cat({a.images, b.images}).contiguous();
  out.labels = torch::cat({a.labels, b.labels}).contiguous();
  out.ids.insert(out.ids.end(), b.ids.begin(), b.ids.end());
  out.hashes.insert(out.hashes.end(), b.hashes.begin(), b.hashes.end());
  return out;
}

// What the job forgets, and what must never be served as retained data.
struct ForgetPlan {
  bool is_class = false;
  int64_t forget_class = -1;
  data::Dataset forget;              // D_u
  std::vector<ForgottenItem> items;  // for tombstones
  std::set<std::string> exclude;     // ids never to be loaded as retained data
  int64_t uploads = 0;
  double class_separation_fd = -1;
};

}  // namespace

std::string DataSpecFromDatasetName(const std::string& name) {
  std::string spec = name;
  const std::string suffix = "/train";
  if (spec.size() >= suffix.size() &&
      spec.compare(spec.size() - suffix.size(), suffix.size(), suffix) == 0) {
    spec.resize(spec.size() - suffix.size());
  }
  if (spec == "fashion-mnist") return "";
  return spec;
}

struct EngineExecutor::State {
  EngineOptions options;
  torch::Device device{torch::kCPU};
  std::unique_ptr<metrics::Evaluator> evaluator;
  std::mutex log_mu;

  std::string SpecFor(const ModelInfo& model) const {
    std::string spec = options.data_spec ? options.data_spec(model) : "";
    if (!spec.empty()) return spec;
    return DataSpecFromDatasetName(model.dataset_name);
  }

  metrics::MetricInputs MetricInputsFor(models::Generator g, models::Discriminator d,
                                        const data::Dataset& retained, const data::Dataset* test,
                                        const ForgetPlan& plan, uint64_t seed) const {
    metrics::MetricInputs mi;
    mi.generator = g;
    mi.discriminator = d;
    mi.evaluator = evaluator.get();
    mi.train = &retained;
    mi.test = test;
    mi.forget = &plan.forget;
    mi.forget_class = plan.is_class ? int(plan.forget_class) : -1;
    mi.num_generated = options.metric_samples;
    mi.max_real = std::max<int64_t>(options.metric_samples, 2);
    mi.max_scored = std::max<int64_t>(options.metric_samples, 2);
    mi.seed = seed;
    mi.device = device;
    mi.reconstruct = unlearn::ReinversionReconstructor(
        unlearn::AttackInversionOptions(options.attack_steps, seed + 29));
    mi.attack_samples_per_class = options.attack_samples;
    return mi;
  }

  void LogServed(const std::string& job_id, const std::set<std::string>& ids) {
    if (options.served_ids_log.empty() || ids.empty()) return;
    std::lock_guard<std::mutex> lock(log_mu);
    std::ofstream out(options.served_ids_log, std::ios::app);
    for (const std::string& id : ids) out << job_id << ' ' << id << '\n';
  }
};

EngineExecutor::EngineExecutor(std::unique_ptr<State> state) : state_(std::move(state)) {}
EngineExecutor::~EngineExecutor() = default;

absl::StatusOr<std::unique_ptr<EngineExecutor>> EngineExecutor::Create(
    const EngineOptions& options) {
  auto state = std::make_unique<State>();
  state->options = options;
  try {
    state->device = models::ParseDevice(options.device);
    models::ConfigureThreads(options.threads);
    state->evaluator = std::make_unique<metrics::Evaluator>(
        metrics::Evaluator::Load(options.evaluator_dir, state->device));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("engine: ", e.what()));
  }
  return std::unique_ptr<EngineExecutor>(new EngineExecutor(std::move(state)));
}

absl::StatusOr<ExecutionResult> EngineExecutor::Execute(const JobInputs& in,
                                                        const std::string& base_dir,
                                                        const std::string& work_dir,
                                                        const ProgressFn& progress,
                                                        CancelToken* cancel) {
  State& st = *state_;
  const metrics::Evaluator& evaluator = *st.evaluator;
  const uint64_t seed = SeedOf(in.lease.job_id);
  ExecutionResult out;
  auto report_progress = [&](Phase phase, int64_t it, int64_t budget, double eta,
                             std::map<std::string, double> m, const std::string& message) {
    if (!progress) return;
    ProgressUpdate u;
    u.phase = phase;
    u.iteration = it;
    u.budget = budget;
    u.eta_seconds = eta;
    u.metrics = std::move(m);
    u.message = message;
    progress(u);
  };
  try {
    auto t_load = Clock::now();
    report_progress(Phase::kNone, 0, 0, -1, {}, "loading the model and its data");
    // The base version, verified file by file, and checked against its database record.
    models::Checkpoint base = models::LoadCheckpoint(base_dir, st.device);
    const std::string base_digest = models::CheckpointDigest(base_dir);
    if (base_digest != in.base.sha256) {
      return absl::FailedPreconditionError(
          absl::StrCat("model store version ", in.base.uri, " has digest ",
                       base_digest.substr(0, 16), "..., but version ", in.base.id,
                       " was recorded as ", in.base.sha256.substr(0, 16), "..."));
    }
    const models::ModelConfig& cfg = base.config;
    if (evaluator.config().resolution != cfg.resolution ||
        evaluator.config().channels != cfg.img_channels) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the evaluator takes ", evaluator.config().channels, "x", evaluator.config().resolution,
          " images but model ", in.model.name, " makes ", cfg.img_channels, "x", cfg.resolution));
    }
    const std::string spec = st.SpecFor(in.model);
    data::LoadOptions lo;
    lo.resolution = cfg.resolution;
    lo.num_classes = cfg.num_classes;
    // A model trained on the first N items of a larger source (`train --limit N`) records N;
    // exactly those items are its training set.
    int64_t trained_items = -1;
    if (base.manifest.is_object() && base.manifest.Has("dataset") &&
        base.manifest.at("dataset").is_object()) {
      trained_items = base.manifest.at("dataset").GetInt("size", -1);
    }

    // The forget set and the exclusion set, from the full training set.
    ForgetPlan plan;
    data::Dataset limited_retained;  // set when the training set is a prefix of the source
    bool limited = false;
    {
      data::LoadOptions full_options = lo;
      full_options.limit = trained_items > 0 ? trained_items + 1 : -1;
      data::Dataset full = data::LoadDataset(spec, data::Split::kTrain, full_options);
      if (trained_items > 0 && full.size() > trained_items) {
        std::vector<int64_t> prefix(static_cast<size_t>(trained_items));
        for (int64_t i = 0; i < trained_items; ++i) prefix[size_t(i)] = i;
        full = full.Subset(prefix);
        limited = true;
      }
      if (!in.model.dataset_fingerprint.empty() &&
          full.Fingerprint() != in.model.dataset_fingerprint) {
        return absl::FailedPreconditionError(absl::StrCat(
            "data set \"", spec.empty() ? "fashion-mnist" : spec, "\" is not the one model ",
            in.model.name, " was trained on (fingerprint mismatch); set --data"));
      }
      std::unordered_map<std::string, int64_t> index;
      index.reserve(size_t(full.size()));
      for (int64_t i = 0; i < full.size(); ++i) index[full.ids[size_t(i)]] = i;
      std::set<std::string> forbidden_hashes;
      for (const TombstoneInput& t : in.tombstones) {
        if (t.item_id) plan.exclude.insert(*t.item_id);
        forbidden_hashes.insert(t.sha256);
      }
      std::vector<int64_t> rows;
      const RequestInput* class_request = nullptr;
      for (const RequestInput& r : in.requests) {
        if (r.is_class) class_request = &r;
      }
      if (class_request != nullptr) {
        if (in.requests.size() != 1) {
          return absl::InternalError("a class request must run alone in its job");
        }
        plan.is_class = true;
        plan.forget_class = class_request->class_label;
        if (plan.forget_class < 0 || plan.forget_class >= cfg.num_classes) {
          return absl::InvalidArgumentError(
              absl::StrCat("class ", plan.forget_class, " is out of range"));
        }
        rows = full.IndicesOfClass(plan.forget_class);
        for (int64_t i : rows) {
          plan.items.push_back({full.ids[size_t(i)], full.hashes[size_t(i)], class_request->id});
        }
      } else {
        plan.items = ForgottenItemsOf(in.requests);
        for (const ForgottenItem& f : plan.items) {
          if (!f.item_id) continue;
          auto it = index.find(*f.item_id);
          if (it == index.end()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "item \"", *f.item_id, "\" of request ", f.request_id, " is not in data set \"",
                spec.empty() ? "fashion-mnist" : spec, "\""));
          }
          if (full.hashes[size_t(it->second)] != f.sha256) {
            return absl::FailedPreconditionError(
                absl::StrCat("item \"", *f.item_id, "\" has different pixels in data set \"", spec,
                             "\" than when the request was matched"));
          }
          rows.push_back(it->second);
        }
      }
      for (int64_t i : rows) {
        plan.exclude.insert(full.ids[size_t(i)]);
        forbidden_hashes.insert(full.hashes[size_t(i)]);
      }
      for (const ForgottenItem& f : plan.items) forbidden_hashes.insert(f.sha256);
      // Copies of a forgotten image under another id are forgotten too.
      for (int64_t i = 0; i < full.size(); ++i) {
        if (forbidden_hashes.count(full.hashes[size_t(i)]))
          plan.exclude.insert(full.ids[size_t(i)]);
      }
      plan.forget = full.Subset(rows);
      if (plan.is_class) {
        plan.class_separation_fd = metrics::ClassSeparationFd(
            full, evaluator, int(plan.forget_class), std::min<int64_t>(2000, full.size()), seed);
      }
      // With a limit, LoadOptions.exclude would slide the window over items the model never
      // saw: the retained set is then the training prefix without the excluded items.
      if (limited) limited_retained = full.Without(plan.exclude);
    }  // the full set is released here
    CheckCancel(cancel);

    // Uploaded images that matched no training item: decoded, labelled by the evaluator.
    {
      std::vector<torch::Tensor> images;
      std::vector<std::string> ids, hashes;
      for (const RequestInput& r : in.requests) {
        for (const RequestItemInput& item : r.items) {
          if (item.item_id) continue;
          if (!item.png) {
            return absl::FailedPreconditionError(absl::StrCat(
                "request ", r.id, " item ", item.ordinal, ": the uploaded image is gone"));
          }
          if (std::find(hashes.begin(), hashes.end(), item.sha256) != hashes.end()) continue;
          images.push_back(DecodeUpload(item, in.model, r.id));
          ids.push_back(absl::StrCat("upload/", r.id, "/", item.ordinal));
          hashes.push_back(item.sha256);
        }
      }
      if (!images.empty()) {
        data::Dataset up;
        up.name = "uploads";
        up.images = torch::cat(images).contiguous();
        up.labels = evaluator.Logits(up.images).argmax(1).to(torch::kCPU, torch::kLong);
        up.ids = ids;
        up.hashes = hashes;
        up.num_classes = cfg.num_classes;
        plan.uploads = up.size();
        plan.forget = plan.forget.size() > 0 ? Concat(plan.forget, up) : up;
      }
    }
    if (plan.forget.size() == 0) {
      return absl::FailedPreconditionError("the job has nothing to forget");
    }
    plan.forget.num_classes = cfg.num_classes;

    // Retained data: the training set without anything forgotten, ever.
    data::LoadOptions retained_options = lo;
    retained_options.exclude = plan.exclude;
    data::Dataset retained = limited
                                 ? std::move(limited_retained)
                                 : data::LoadDataset(spec, data::Split::kTrain, retained_options);
    for (const std::string& id : retained.ids) {
      if (plan.exclude.count(id)) {
        return absl::InternalError("the loader returned excluded item " + id);
      }
    }
    data::Dataset test;
    const bool has_test = data::HasTestSplit(spec);
    if (has_test) test = data::LoadDataset(spec, data::Split::kTest, lo);
    out.phase_seconds["loading"] = Since(t_load);
    CheckCancel(cancel);

    Json report = Json::Object();
    models::Generator new_g{nullptr};
    models::Discriminator new_d{nullptr};
    Json extra_manifest = Json::Object();
    std::set<std::string> served;

    if (in.kind == "retrain") {
      // Exact unlearning: train from scratch on the retained set with the base schedule.
      auto t0 = Clock::now();
      unlearn::RetrainOptions ro;
      ro.out_dir = JoinPath(work_dir, "retrained");
      ro.device = st.device;
      ro.iterations = st.options.retrain_iterations;
      ro.cancel = cancel;
      ro.log_every = 10;
      ro.on_progress = [&](const train::TrainProgress& p) {
        std::map<std::string, double> m;
        m["iterations_per_second"] = p.iterations_per_second;
        report_progress(Phase::kUnlearning, p.iteration, p.iterations, p.eta_seconds, m,
                        "exact retraining without the forgotten items");
      };
      train::TrainResult tr = unlearn::Retrain(base, retained, plan.exclude, ro);
      if (tr.cancelled) throw StopRequested{};
      models::Checkpoint fresh = models::LoadCheckpoint(tr.checkpoint_dir, st.device);
      new_g = fresh.generator;
      new_d = fresh.discriminator;
      for (const auto& [k, v] : fresh.manifest.items()) extra_manifest[k] = v;
      // "dataset" keeps naming the model's training universe (what --data loads and the
      // registered fingerprint covers); the set actually retrained on is recorded apart.
      if (fresh.manifest.Has("dataset"))
        extra_manifest["retrained_on"] = fresh.manifest.at("dataset");
      extra_manifest["dataset"] =
          base.manifest.Has("dataset") ? base.manifest.at("dataset") : Json();
      report = RetrainReport(tr.iterations, tr.seconds);
      out.iterations = tr.iterations;
      out.destination_reached = true;
      out.phase_seconds["unlearning"] = Since(t0);
    } else {
      unlearn::UnlearnRequest req;
      req.kind = plan.is_class ? unlearn::RequestKind::kClass : unlearn::RequestKind::kItem;
      ApplySettings(in.requests.front(), st.options, &req);
      req.forget_class = plan.forget_class;
      req.forget = plan.forget;
      req.seed = seed;
      req.inversion.seed = seed + 1;
      if (st.options.inversion_steps > 0) req.inversion.steps = st.options.inversion_steps;
      if (st.options.eval_every > 0) req.cascade.eval_every = st.options.eval_every;
      if (st.options.eval_samples > 0) {
        req.cascade.eval_samples = st.options.eval_samples;
        req.cascade.fd_samples = st.options.eval_samples;
      }
      if (plan.is_class) req.destination.class_separation_fd = plan.class_separation_fd;

      std::unique_ptr<unlearn::RetainedImages> pool;
      std::unique_ptr<CheckedSource> checked;
      if (req.mode == unlearn::Mode::kFewShot) {
        pool = std::make_unique<unlearn::RetainedImages>(
            retained, plan.exclude, unlearn::DefaultRetainedPool(plan.forget.size()), seed + 3,
            st.device);
        checked = std::make_unique<CheckedSource>(*pool, plan.exclude);
      }
      double inversion_started = -1;
      unlearn::ProgressFn on_progress = [&](const unlearn::Progress& p) {
        std::map<std::string, double> m;
        if (p.auc_u >= 0) m["auc_u"] = p.auc_u;
        if (p.logan_auc >= 0) m["logan_auc"] = p.logan_auc;
        if (p.fd_u >= 0) m["fd_u"] = p.fd_u;
        if (p.phase == unlearn::Phase::kInverting) {
          if (inversion_started < 0) inversion_started = p.seconds;
          report_progress(Phase::kInverting, p.iteration, p.total, p.eta_seconds, m,
                          "inverting the forgotten images");
        } else {
          report_progress(Phase::kUnlearning, p.iteration, p.total, p.eta_seconds, m,
                          p.phase == unlearn::Phase::kEvaluating
                              ? "checking the destination"
                              : "cascade: unlearning and learning phases");
        }
      };
      unlearn::UnlearnResult ur =
          unlearn::Unlearn(base, evaluator, req, checked.get(), test, on_progress, cancel);
      if (checked) served = checked->served();
      new_g = ur.generator;
      new_d = ur.discriminator;
      report = ur.report;
      out.destination_reached = ur.destination_reached;
      out.iterations = ur.cascade.iterations;
      out.phase_seconds["inverting"] = ur.inversion.seconds;
      out.phase_seconds["unlearning"] =
          ur.cascade.seconds_unlearning + ur.cascade.seconds_evaluation;
      for (const auto& [k, v] : base.manifest.items()) extra_manifest[k] = v;
    }
    CheckCancel(cancel);

    // Evaluating: the base and the new model on the same data, the same seeds.
    auto t_eval = Clock::now();
    report_progress(Phase::kEvaluating, 0, 2, -1, {}, "measuring the base and the new model");
    const data::Dataset* test_ptr = has_test ? &test : nullptr;
    Json before = metrics::EvaluateModel(st.MetricInputsFor(base.generator, base.discriminator,
                                                            retained, test_ptr, plan, seed + 11));
    CheckCancel(cancel);
    report_progress(Phase::kEvaluating, 1, 2, -1, {}, "measuring the new model");
    Json after = metrics::EvaluateModel(
        st.MetricInputsFor(new_g, new_d, retained, test_ptr, plan, seed + 11));
    out.phase_seconds["evaluating"] = Since(t_eval);
    CheckCancel(cancel);

    // The report.
    before["mia"] = metrics::MiaJson(before);
    after["mia"] = metrics::MiaJson(after);
    report["before"] = before;
    report["after"] = after;
    report["summary"] = unlearn::ForgettingSummary(report);
    ForgetSummary forget;
    forget.is_class = plan.is_class;
    forget.forget_class = plan.forget_class;
    forget.items = int64_t(plan.items.size());
    forget.unmatched_uploads = plan.uploads;
    forget.class_separation_fd = plan.class_separation_fd;
    DataSummary data;
    data.spec = spec;
    data.retained_items = retained.size();
    data.excluded_items = int64_t(plan.exclude.size());
    data.served_retained_items = int64_t(served.size());
    data.test_items = test.size();
    AddJobSections(in, st.options.worker_id, forget, data, out.phase_seconds, &report);

    out.report = report;
    out.metrics_before = before;
    out.metrics_after = after;
    out.verdict = report.Has("destination") ? report.at("destination") : Json::Object();
    out.forgotten = plan.items;
    st.LogServed(in.lease.job_id, served);

    if (!out.destination_reached) return out;  // nothing is written

    // The new version: weights, manifest (lineage, cumulative forgotten hashes), report,
    // sample grid.
    extra_manifest = NewVersionManifest(extra_manifest, base.manifest, in, plan.items, out.verdict);

    models::Checkpoint next;
    next.config = cfg;
    next.generator = new_g;
    next.discriminator = new_d;
    models::SaveOptions so;
    so.extra_files["report.json"] = report.Dump(2) + "\n";
    so.extra_files["sample.png"] = SampleGridPng(new_g, st.options.sample_columns, seed + 17);
    out.version_dir = JoinPath(work_dir, "version");
    models::SaveCheckpoint(out.version_dir, next, extra_manifest, so);
    out.digest = models::CheckpointDigest(out.version_dir);
    Json manifest = Json::Parse(ReadFile(JoinPath(out.version_dir, models::kManifestFile)));
    for (const auto& [name, sha] : manifest.at("files").items()) out.files[name] = sha.AsString();
    return out;
  } catch (const StopRequested&) {
    return absl::CancelledError("stopped by the worker");
  } catch (const unlearn::Cancelled&) {
    return absl::CancelledError("stopped by the worker");
  } catch (const std::bad_alloc&) {
    return absl::InternalError("engine: out of memory");
  } catch (const Error& e) {
    if (cancel != nullptr && cancel->cancelled()) return absl::CancelledError(e.what());
    return absl::FailedPreconditionError(absl::StrCat("engine: ", e.what()));
  } catch (const std::exception& e) {
    if (cancel != nullptr && cancel->cancelled()) return absl::CancelledError(e.what());
    return absl::InternalError(absl::StrCat("engine: ", e.what()));
  }
}

}  // namespace lethe::worker
