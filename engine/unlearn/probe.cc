#include "engine/unlearn/probe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "engine/base/error.h"
#include "engine/data/sampler.h"
#include "engine/metrics/auc.h"
#include "engine/metrics/registry.h"
#include "engine/unlearn/inversion.h"

namespace lethe::unlearn {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A seeded random subset of at most `k` rows, in random order.
torch::Tensor RandomRows(int64_t n, int64_t k, uint64_t seed) {
  torch::Generator rng = data::MakeGenerator(seed);
  return torch::randperm(n, rng, torch::kLong).narrow(0, 0, std::min(n, k));
}

std::vector<int64_t> ToVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

std::vector<double> ScoreImages(models::Discriminator& d, const torch::Tensor& images,
                                const torch::Tensor& labels, int64_t batch) {
  torch::NoGradGuard no_grad;
  return metrics::DiscriminatorScores(d, images, labels, batch, images.device());
}

data::Dataset MatchingTestSample(const data::Dataset& test, const torch::Tensor& labels,
                                 int64_t max_total, uint64_t seed) {
  if (test.size() == 0 || labels.numel() == 0) return test.Subset({});
  torch::Tensor l = labels.to(torch::kCPU, torch::kLong).contiguous();
  std::map<int64_t, int64_t> counts;
  for (int64_t i = 0; i < l.numel(); ++i) ++counts[l.data_ptr<int64_t>()[i]];
  const double total = double(l.numel());
  // Scale so that the largest class share still fits what the test set holds.
  double scale = double(max_total) / total;
  for (const auto& [c, k] : counts) {
    const double have = double(test.IndicesOfClass(c).size());
    if (have > 0) scale = std::min(scale, have / double(k));
  }
  std::vector<int64_t> picked;
  torch::Generator rng = data::MakeGenerator(seed);
  for (const auto& [c, k] : counts) {
    std::vector<int64_t> of_class = test.IndicesOfClass(c);
    if (of_class.empty()) continue;
    const int64_t want =
        std::clamp<int64_t>(int64_t(std::llround(scale * double(k))), 1, of_class.size());
    torch::Tensor perm = torch::randperm(int64_t(of_class.size()), rng, torch::kLong);
    for (int64_t i = 0; i < want; ++i) picked.push_back(of_class[size_t(perm[i].item<int64_t>())]);
  }
  // Random order: minibatch-stddev groups then mix classes as the other samples do.
  torch::Tensor order = RandomRows(int64_t(picked.size()), int64_t(picked.size()), seed + 1);
  std::vector<int64_t> shuffled;
  for (int64_t i : ToVector(order)) shuffled.push_back(picked[size_t(i)]);
  return test.Subset(shuffled);
}

data::Dataset TestReference(const data::Dataset& test, int64_t excluded_class, int64_t n,
                            uint64_t seed) {
  std::vector<int64_t> rows;
  if (test.size() > 0) {
    torch::Tensor l = test.labels.to(torch::kCPU, torch::kLong).contiguous();
    for (int64_t i = 0; i < test.size(); ++i)
      if (l.data_ptr<int64_t>()[i] != excluded_class) rows.push_back(i);
  }
  std::vector<int64_t> picked;
  for (int64_t i : ToVector(RandomRows(int64_t(rows.size()), n, seed)))
    picked.push_back(rows[size_t(i)]);
  return test.Subset(picked);
}

DestinationProbe::DestinationProbe(RequestKind kind, int64_t forget_class,
                                   const data::Dataset& forget, const RealBatch& reference,
                                   const data::Dataset& test, const metrics::Evaluator* evaluator,
                                   int64_t z_dim, const ProbeOptions& options, torch::Device device)
    : kind_(kind),
      forget_class_(forget_class),
      evaluator_(evaluator),
      options_(options),
      device_(device) {
  torch::Tensor rows = RandomRows(forget.size(), options.forget_samples, options.seed);
  forget_images_ = forget.images.index_select(0, rows).to(device);
  forget_labels_ = forget.labels.index_select(0, rows).to(device, torch::kLong);
  if (!reference.images.defined() || reference.images.size(0) == 0)
    throw Error("the destination check needs a non-empty reference sample");
  torch::Tensor ref_rows =
      RandomRows(reference.images.size(0), reference.images.size(0), options.seed + 4);
  ref_images_ = reference.images.index_select(0, ref_rows.to(reference.images.device())).to(device);
  ref_labels_ = reference.labels.index_select(0, ref_rows.to(reference.labels.device()))
                    .to(device, torch::kLong);
  data::Dataset t =
      MatchingTestSample(test, forget_labels_, options.reference_samples, options.seed + 1);
  if (t.size() > 0) {
    test_images_ = t.images.to(device);
    test_labels_ = t.labels.to(device, torch::kLong);
  }
  if (kind == RequestKind::kClass) {
    if (!evaluator) throw Error("class unlearning needs an evaluator for FD_u");
    torch::Tensor real_rows =
        RandomRows(forget.size(), std::max<int64_t>(options.fd_samples, 2), options.seed + 2);
    real_class_stats_ =
        metrics::ComputeStats(evaluator->Features(forget.images.index_select(0, real_rows)));
    torch::Generator rng = data::MakeGenerator(options.seed + 3);
    const int64_t n = std::max<int64_t>(options.fd_samples, 2);
    fd_z_ = torch::randn({n, z_dim}, rng).to(device);
    fd_labels_ = torch::full({n}, forget_class, torch::kLong).to(device);
  }
}

Measurement DestinationProbe::Measure(models::Generator& g, models::Discriminator& d,
                                      int64_t iteration) {
  torch::NoGradGuard no_grad;
  Measurement m;
  m.iteration = iteration;
  const int64_t b = options_.score_batch;
  std::vector<double> u = ScoreImages(d, forget_images_, forget_labels_, b);
  std::vector<double> l = ScoreImages(d, ref_images_, ref_labels_, b);
  m.auc_u = metrics::MannWhitneyAuc(l, u);
  if (has_test()) {
    std::vector<double> t = ScoreImages(d, test_images_, test_labels_, b);
    m.logan_auc = metrics::MannWhitneyAuc(u, t);
  } else {
    m.logan_auc = kNaN;
  }
  m.fd_u = kNaN;
  if (kind_ == RequestKind::kClass) {
    if (fd_z_.size(1) != g->config().z_dim) throw Error("probe built for another model");
    std::vector<torch::Tensor> feats;
    int64_t recognised = 0;
    for (int64_t i = 0; i < fd_z_.size(0); i += 256) {
      const int64_t len = std::min<int64_t>(256, fd_z_.size(0) - i);
      torch::Tensor img = g->forward(fd_z_.narrow(0, i, len), fd_labels_.narrow(0, i, len),
                                     models::NoiseMode::kConst);
      auto [f, logits] = evaluator_->FeaturesAndLogits(img.clamp(-1, 1), 256);
      feats.push_back(f);
      recognised += logits.argmax(1).eq(forget_class_).sum().item<int64_t>();
    }
    m.fd_u = metrics::FrechetDistance(metrics::ComputeStats(torch::cat(feats)), real_class_stats_);
    m.class_recognition = double(recognised) / double(fd_z_.size(0));
  }
  return m;
}

void DestinationProbe::ArmGeneratorAttack(const data::Dataset& forget, const data::Dataset& test,
                                          const InversionOptions& inversion, int64_t max_members,
                                          uint64_t seed) {
  ValidateInversionOptions(inversion);
  metrics::AttackSetOptions o;
  o.max_members = max_members;
  o.seed = seed;
  attack_ = std::make_unique<metrics::AttackSets>(metrics::BuildAttackSets(forget, test, o));
  attack_inversion_ = inversion;
}

DestinationProbe::GeneratorAttack DestinationProbe::AttackGenerator(models::Generator& g) {
  if (!attack_) throw Error("the generator-side attack was not armed");
  // metrics::ReinversionAttack's computation, keeping the codes: members and controls are
  // inverted together, with the same budget.
  const metrics::AttackSets& a = *attack_;
  const int64_t m = a.member_images.size(0);
  torch::Tensor images = torch::cat({a.member_images, a.control_images}).to(device_);
  torch::Tensor labels = torch::cat({a.member_labels, a.control_labels}).to(device_, torch::kLong);
  InversionResult inv;
  {
    torch::AutoGradMode grad(true);
    inv = Invert(g, images, labels, attack_inversion_);
  }
  torch::NoGradGuard no_grad;
  torch::Tensor d =
      metrics::PixelDistances(g->Synthesize(inv.w, models::NoiseMode::kConst), images);
  GeneratorAttack out;
  out.auc = metrics::ScoreAttack(a, d.narrow(0, 0, m), d.narrow(0, m, d.size(0) - m)).auc;
  out.member_codes = inv.w.narrow(0, 0, m).detach().clone();
  out.member_labels = labels.narrow(0, 0, m).clone();
  return out;
}

}  // namespace lethe::unlearn
