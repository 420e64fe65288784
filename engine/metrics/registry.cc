#include "engine/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "engine/base/error.h"
#include "engine/base/sha256.h"
#include "engine/data/sampler.h"
#include "engine/metrics/auc.h"
#include "engine/metrics/class_separation.h"
#include "engine/metrics/sample_attack.h"
#include "engine/models/layers.h"

namespace lethe::metrics {

// ---------------------------------------------------------------------------------------
// Registry.

void MetricRegistry::Register(Metric metric) {
  if (metric.name.empty() || !metric.compute || !metric.unavailable)
    throw Error("a metric needs a name, an availability check and a compute function");
  const std::string name = metric.name;
  if (!metrics_.emplace(name, std::move(metric)).second)
    throw Error("metric \"" + name + "\" is registered twice");
}

std::vector<std::string> MetricRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, m] : metrics_) names.push_back(name);
  return names;
}

const Metric& MetricRegistry::Get(const std::string& name) const {
  auto it = metrics_.find(name);
  if (it == metrics_.end()) {
    std::string known;
    for (const auto& n : Names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown metric \"" + name + "\" (known: " + known + ")");
  }
  return it->second;
}

std::vector<std::string> MetricRegistry::Available(const MetricInputs& inputs) const {
  std::vector<std::string> names;
  for (const auto& [name, m] : metrics_)
    if (m.unavailable(inputs).empty()) names.push_back(name);
  return names;
}

Json MetricRegistry::Compute(const MetricInputs& inputs,
                             const std::vector<std::string>& names) const {
  std::vector<std::string> todo = names.empty() ? Available(inputs) : names;
  for (const std::string& name : todo) {
    const std::string why = Get(name).unavailable(inputs);
    if (!why.empty()) throw Error("metric " + name + " cannot be computed: " + why);
  }
  if (inputs.num_generated < 2 || inputs.batch <= 0 || inputs.score_batch <= 0 ||
      inputs.max_real < 2 || inputs.max_scored < 1)
    throw Error("metric settings out of range (num_generated >= 2, batch > 0, ...)");
  MetricContext context(inputs);
  Json out = Json::Object();
  for (const std::string& name : todo) out[name] = Get(name).compute(context);
  return out;
}

Json EvaluateModel(const MetricInputs& inputs, const std::vector<std::string>& names) {
  return DefaultMetrics().Compute(inputs, names);
}

// ---------------------------------------------------------------------------------------
// Shared intermediate results.

MetricContext::MetricContext(const MetricInputs& inputs) : inputs_(inputs) {}

uint64_t MetricContext::SeedFor(const std::string& key) const {
  // Each draw gets its own stream, independent of which other metrics run.
  Sha256 h;
  h.Update(std::to_string(inputs_.seed) + "/" + key);
  auto digest = h.Finish();
  uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s = (s << 8) | digest[size_t(i)];
  return s >> 1;  // LibTorch seeds are used as signed in places; keep it positive
}

const MetricContext::Generated& MetricContext::GeneratedLike(const std::string& key,
                                                             const data::Dataset& reference,
                                                             int exclude) {
  auto it = generated_.find(key);
  if (it != generated_.end()) return it->second;
  torch::NoGradGuard no_grad;
  torch::Tensor ref_labels = reference.labels.to(torch::kCPU, torch::kInt64);
  if (exclude >= 0) ref_labels = ref_labels.masked_select(ref_labels.ne(exclude));
  if (ref_labels.numel() == 0)
    throw Error("no labels to condition generated images on in " + reference.name);
  torch::Generator gen = data::MakeGenerator(SeedFor("generate/" + key));
  const int64_t n = inputs_.num_generated;
  Generated g;
  g.labels = ref_labels.index_select(0, data::RandomIndices(ref_labels.numel(), n, gen));
  torch::Tensor z = torch::randn({n, inputs_.generator->config().z_dim}, gen);
  std::vector<torch::Tensor> features, logits;
  for (int64_t i = 0; i < n; i += inputs_.batch) {
    const int64_t b = std::min(inputs_.batch, n - i);
    torch::Tensor images = inputs_.generator->forward(z.narrow(0, i, b).to(inputs_.device),
                                                      g.labels.narrow(0, i, b).to(inputs_.device),
                                                      models::NoiseMode::kConst);
    auto [f, l] = inputs_.evaluator->FeaturesAndLogits(images.clamp(-1, 1), inputs_.batch);
    features.push_back(f.cpu());
    logits.push_back(l.cpu());
  }
  g.features = torch::cat(features, 0);
  g.logits = torch::cat(logits, 0);
  return generated_.emplace(key, std::move(g)).first->second;
}

const FeatureStats& MetricContext::RealStats(const std::string& key, const data::Dataset& real) {
  auto it = real_.find(key);
  if (it != real_.end()) return it->second;
  std::vector<int64_t> idx = SampleIndices(real.size(), inputs_.max_real, SeedFor("real/" + key));
  return real_.emplace(key, StatsOf(*inputs_.evaluator, real, idx, inputs_.batch)).first->second;
}

const std::vector<double>& MetricContext::Scores(const std::string& key, const data::Dataset& set,
                                                 const std::vector<int64_t>* indices) {
  auto it = scores_.find(key);
  if (it != scores_.end()) return it->second;
  std::vector<int64_t> pool;
  if (indices) {
    pool = *indices;
  } else {
    pool.resize(size_t(set.size()));
    for (int64_t i = 0; i < set.size(); ++i) pool[size_t(i)] = i;
  }
  std::vector<int64_t> pick =
      SampleIndices(int64_t(pool.size()), inputs_.max_scored, SeedFor("score/" + key));
  for (int64_t& i : pick) i = pool[size_t(i)];
  if (pick.empty()) throw Error("no images to score in " + set.name);
  // Score in a seeded random order: minibatch-stddev groups then mix images as they do in
  // training, whatever the set's order (a class-sorted set would otherwise be scored in
  // single-class groups and shift every score of that set).
  torch::Generator order_rng = data::MakeGenerator(SeedFor("score-order/" + key));
  torch::Tensor order = torch::randperm(int64_t(pick.size()), order_rng, torch::kInt64);
  std::vector<int64_t> shuffled(pick.size());
  for (size_t i = 0; i < pick.size(); ++i)
    shuffled[i] = pick[size_t(order[int64_t(i)].item<int64_t>())];
  pick.swap(shuffled);
  torch::Tensor idx = torch::tensor(pick, torch::kInt64);
  std::vector<double> scores = DiscriminatorScores(
      const_cast<models::Discriminator&>(inputs_.discriminator), set.images.index_select(0, idx),
      set.labels.index_select(0, idx), inputs_.score_batch, inputs_.device);
  return scores_.emplace(key, std::move(scores)).first->second;
}

const AttackSets& MetricContext::Attack() {
  if (!attack_) {
    AttackSetOptions o;
    o.max_members = inputs_.attack_members;
    o.seed = SeedFor("attack");
    attack_ = std::make_unique<AttackSets>(BuildAttackSets(*inputs_.forget, *inputs_.test, o));
  }
  return *attack_;
}

const AttackResult& MetricContext::WhiteBox() {
  if (!white_box_)
    white_box_ = std::make_unique<AttackResult>(ReinversionAttack(
        const_cast<models::Generator&>(inputs_.generator), Attack(), inputs_.reconstruct,
        inputs_.device));
  return *white_box_;
}

const AttackResult& MetricContext::BlackBox() {
  if (!black_box_) {
    SampleAttackOptions o;
    o.samples_per_class = inputs_.attack_samples_per_class;
    o.batch = std::max<int64_t>(1, inputs_.batch);
    o.seed = SeedFor("sample-attack");
    torch::NoGradGuard no_grad;
    black_box_ = std::make_unique<AttackResult>(SampleAttack(
        const_cast<models::Generator&>(inputs_.generator), Attack(), o, inputs_.device));
  }
  return *black_box_;
}

std::vector<double> DiscriminatorScores(models::Discriminator& discriminator,
                                        const torch::Tensor& images, const torch::Tensor& labels,
                                        int64_t batch, torch::Device device) {
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  if (batch <= 0) throw Error("score batch must be > 0");
  // Groups of minibatch-stddev are strided across the batch; a batch larger than the set
  // would put copies of one image into a group (stddev 0, a score D never saw in training).
  const int64_t group = std::max<int64_t>(1, discriminator->config().mbstd_group);
  if (n < batch) batch = n >= group ? n / group * group : n;
  std::vector<double> out;
  out.reserve(size_t(n));
  for (int64_t start = 0; start < n; start += batch) {
    // Indices on the images' device: the probe scores images that already live on a GPU.
    torch::Tensor idx =
        torch::arange(start, start + batch, torch::dtype(torch::kInt64).device(images.device())) %
        n;
    torch::Tensor s = discriminator
                          ->forward(images.index_select(0, idx).to(device),
                                    labels.index_select(0, idx.to(labels.device())).to(device))
                          .to(torch::kCPU, torch::kFloat64)
                          .contiguous();
    const int64_t keep = std::min(batch, n - start);
    out.insert(out.end(), s.data_ptr<double>(), s.data_ptr<double>() + keep);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The metrics.

namespace {

std::string Missing(const MetricInputs& in, bool generator, bool discriminator, bool evaluator) {
  if (generator && !in.generator) return "no generator";
  if (discriminator && !in.discriminator) return "no discriminator";
  if (evaluator && !in.evaluator) return "no evaluator";
  return "";
}

bool NonEmpty(const data::Dataset* d, int64_t at_least = 1) { return d && d->size() >= at_least; }

// Why a generator-side attack cannot run ("" when it can).
std::string AttackUnavailable(const MetricInputs& in, bool needs_reconstructor) {
  if (!in.generator) return "no generator";
  if (!NonEmpty(in.forget)) return "no forget set";
  if (!NonEmpty(in.test, 3)) return "no test set";
  if (in.attack_members < 1) return "attack_members < 1";
  if (needs_reconstructor && !in.reconstruct) return "no inversion to re-invert with";
  for (int64_t c = 0; c < int64_t(in.forget->ClassCounts().size()); ++c)
    if (in.forget->ClassCounts()[size_t(c)] > 0 && !in.test->IndicesOfClass(c).empty())
      return "";
  return "no test image of the forgotten classes";
}

// Test items of the classes in `forget`, in proportion to how often each class occurs
// there (as many as available).
std::vector<int64_t> MatchingTestIndices(const data::Dataset& test, const data::Dataset& forget) {
  std::vector<int64_t> counts = forget.ClassCounts();
  std::vector<int64_t> out;
  for (int c = 0; c < int(counts.size()); ++c) {
    if (counts[size_t(c)] == 0) continue;
    std::vector<int64_t> of_class = test.IndicesOfClass(c);
    out.insert(out.end(), of_class.begin(), of_class.end());
  }
  return out;
}

// Re-weights `test_idx` so classes appear in the forget set's proportions: draws, per class,
// round(total * share) test items (capped by what exists).
std::vector<int64_t> ProportionalTestIndices(const data::Dataset& test, const data::Dataset& forget,
                                             int64_t total, uint64_t seed) {
  std::vector<int64_t> counts = forget.ClassCounts();
  std::vector<int64_t> out;
  for (int c = 0; c < int(counts.size()); ++c) {
    if (counts[size_t(c)] == 0) continue;
    std::vector<int64_t> of_class = test.IndicesOfClass(c);
    const int64_t want = std::max<int64_t>(
        1, std::llround(double(total) * double(counts[size_t(c)]) / double(forget.size())));
    std::vector<int64_t> pick = SampleIndices(int64_t(of_class.size()), want, seed + uint64_t(c));
    for (int64_t i : pick) out.push_back(of_class[size_t(i)]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

MetricRegistry DefaultMetrics() {
  MetricRegistry r;
  r.Register({"fd", "FD of generated images (labels as in the test set) vs test images",
              [](const MetricInputs& in) {
                std::string m = Missing(in, true, false, true);
                if (!m.empty()) return m;
                return NonEmpty(in.test, 2) ? std::string() : std::string("no test set");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                return FrechetDistance(ComputeStats(ctx.GeneratedLike("test", *in.test).features),
                                       ctx.RealStats("test", *in.test));
              }});
  r.Register({"fd_l", "FD of generated images (retained classes) vs retained training images",
              [](const MetricInputs& in) {
                std::string m = Missing(in, true, false, true);
                if (!m.empty()) return m;
                return NonEmpty(in.train, 2) ? std::string() : std::string("no training set");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                const auto& g = ctx.GeneratedLike("retained", *in.train, in.forget_class);
                return FrechetDistance(ComputeStats(g.features),
                                       ctx.RealStats("retained", *in.train));
              }});
  r.Register({"fd_u",
              "FD of generated images of the forgotten class (or items' classes) vs the forgotten "
              "images",
              [](const MetricInputs& in) {
                std::string m = Missing(in, true, false, true);
                if (!m.empty()) return m;
                return NonEmpty(in.forget, 2) ? std::string()
                                              : std::string("no forget set of at least 2 images");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                return FrechetDistance(
                    ComputeStats(ctx.GeneratedLike("forget", *in.forget).features),
                    ctx.RealStats("forget", *in.forget));
              }});
  r.Register({"accuracy",
              "evaluator accuracy on generated images vs their conditioning labels "
              "(forgotten class excluded)",
              [](const MetricInputs& in) {
                std::string m = Missing(in, true, false, true);
                if (!m.empty()) return m;
                return NonEmpty(in.train) ? std::string() : std::string("no training set");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                const auto& g = ctx.GeneratedLike("retained", *in.train, in.forget_class);
                return g.logits.argmax(1).eq(g.labels).to(torch::kFloat64).mean().item<double>();
              }});
  r.Register({"auc_u", "P(D(x_l) > D(x_u)): retained vs forgotten training images",
              [](const MetricInputs& in) {
                std::string m = Missing(in, false, true, false);
                if (!m.empty()) return m;
                if (!NonEmpty(in.forget)) return std::string("no forget set");
                return NonEmpty(in.train) ? std::string() : std::string("no retained images");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                return MannWhitneyAuc(ctx.Scores("retained", *in.train),
                                      ctx.Scores("forget", *in.forget));
              }});
  r.Register(
      {"logan_auc", "P(D(x_u) > D(x_t)): forgotten (members) vs test images of the same classes",
       [](const MetricInputs& in) {
         std::string m = Missing(in, false, true, false);
         if (!m.empty()) return m;
         if (!NonEmpty(in.forget)) return std::string("no forget set");
         if (!NonEmpty(in.test)) return std::string("no test set");
         if (MatchingTestIndices(*in.test, *in.forget).empty())
           return std::string("no test image of the forgotten classes");
         return std::string();
       },
       [](MetricContext& ctx) {
         const auto& in = ctx.inputs();
         std::vector<int64_t> idx =
             ProportionalTestIndices(*in.test, *in.forget, in.max_scored, ctx.SeedFor("logan"));
         return MannWhitneyAuc(ctx.Scores("forget", *in.forget),
                               ctx.Scores("test_matching", *in.test, &idx));
       }});
  r.Register({"class_separation_fd",
              "min over other classes c of FD(real c, real forgotten class): FD_u's destination",
              [](const MetricInputs& in) {
                if (!in.evaluator) return std::string("no evaluator");
                if (in.forget_class < 0) return std::string("not a class request");
                if (!NonEmpty(in.forget, 2))
                  return std::string("no forget set of at least 2 images");
                return NonEmpty(in.train, 2) ? std::string() : std::string("no retained images");
              },
              [](MetricContext& ctx) {
                const auto& in = ctx.inputs();
                return ClassSeparationFd(*in.train, ctx.RealStats("forget", *in.forget),
                                         *in.evaluator, in.forget_class, in.max_real,
                                         ctx.SeedFor("separation"));
              }});
  r.Register({"generator_whitebox_auc",
              "re-inversion attack on G: forgotten vs never-seen images of their classes, "
              "calibrated (0.5 = no better than unseen)",
              [](const MetricInputs& in) { return AttackUnavailable(in, true); },
              [](MetricContext& ctx) { return ctx.WhiteBox().auc; }});
  r.Register({"generator_whitebox_raw_auc", "the re-inversion attack without calibration",
              [](const MetricInputs& in) { return AttackUnavailable(in, true); },
              [](MetricContext& ctx) { return ctx.WhiteBox().raw_auc; }});
  r.Register({"generator_blackbox_auc",
              "nearest-sample attack on G: forgotten vs never-seen images of their classes, "
              "calibrated",
              [](const MetricInputs& in) { return AttackUnavailable(in, false); },
              [](MetricContext& ctx) { return ctx.BlackBox().auc; }});
  r.Register({"generator_blackbox_raw_auc", "the nearest-sample attack without calibration",
              [](const MetricInputs& in) { return AttackUnavailable(in, false); },
              [](MetricContext& ctx) { return ctx.BlackBox().raw_auc; }});
  return r;
}

double FdBetweenGenerators(MetricInputs inputs, models::Generator a, models::Generator b) {
  if (!inputs.evaluator || !NonEmpty(inputs.train, 2))
    throw Error("FD between generators needs an evaluator and the retained set");
  inputs.generator = a;
  MetricContext ca(inputs);
  FeatureStats sa =
      ComputeStats(ca.GeneratedLike("retained", *inputs.train, inputs.forget_class).features);
  inputs.generator = b;
  MetricContext cb(inputs);
  FeatureStats sb =
      ComputeStats(cb.GeneratedLike("retained", *inputs.train, inputs.forget_class).features);
  return FrechetDistance(sa, sb);
}

Json MiaJson(const Json& metrics) {
  Json mia = Json::Object();
  auto copy = [&](const char* to, const char* from) {
    mia[to] = metrics.is_object() && metrics.Has(from) ? metrics.at(from) : Json();
  };
  copy("discriminator_auc", "logan_auc");
  copy("generator_whitebox_auc", "generator_whitebox_auc");
  copy("generator_blackbox_auc", "generator_blackbox_auc");
  copy("generator_whitebox_raw_auc", "generator_whitebox_raw_auc");
  copy("generator_blackbox_raw_auc", "generator_blackbox_raw_auc");
  return mia;
}

}  // namespace lethe::metrics
