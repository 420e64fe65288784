// Named model metrics, computed on demand, in the spirit of StyleGAN2-ADA's metric
// registry: `lethe-engine evaluate`, the unlearning report and the worker all ask a
// MetricRegistry for metrics by name, so every number Lethe reports is computed by one
// piece of code. There is no global registry: DefaultMetrics() returns a fresh one.
//
// Metrics (FD = Fréchet distance on the evaluator's features, see fd.h; not Inception FID):
//   fd          generated (labels drawn like the test set's) vs test images
//   fd_l        generated (labels drawn like the retained set's, forgotten class excluded)
//               vs retained training images
//   fd_u        generated images of the forgotten class / of the forgotten items' classes
//               vs the forgotten images (large = forgotten)
//   accuracy    evaluator's accuracy on the fd_l images against their conditioning labels
//   auc_u       P(D(x_l) > D(x_u)), retained vs forgotten images (Mann-Whitney)
//   logan_auc   P(D(x_u) > D(x_t)), forgotten (members) vs test images of the same classes
//   class_separation_fd  min over c != c_u of FD(real_c, real_{c_u}) (class requests; the
//               default destination of FD_u)
//   generator_whitebox_auc  re-inversion attack on G (reinversion_attack.h): forgotten images
//               vs never-seen test images of their classes, calibrated; 0.5 = G reproduces
//               them no better than images it never saw
//   generator_blackbox_auc  nearest-sample attack on G (sample_attack.h), calibrated
//   generator_whitebox_raw_auc / generator_blackbox_raw_auc  the same without calibration
// Generation is batched, gradient-free and deterministic from the seed (fixed per-layer
// noise, latents drawn from a private generator), so the same model gives the same numbers.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/fd.h"
#include "engine/metrics/membership_attack.h"
#include "engine/metrics/reinversion_attack.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"

namespace lethe::metrics {

struct MetricInputs {
  models::Generator generator{nullptr};
  models::Discriminator discriminator{nullptr};
  const Evaluator* evaluator = nullptr;
  const data::Dataset* train = nullptr;   // retained training images (D_l)
  const data::Dataset* test = nullptr;    // may be null (PNG folders without a test split)
  const data::Dataset* forget = nullptr;  // D_u; null when there is no request
  int forget_class = -1;                  // class requests
  int64_t num_generated = 5000;           // generated images per FD / accuracy
  int64_t max_real = 10000;               // real images per FD side (a seeded sample)
  int64_t max_scored = 2000;              // images per side of an AUC (a seeded sample)
  int64_t score_batch = 64;               // D scores fixed-size batches (minibatch-stddev)
  int64_t batch = 256;                    // generation / feature batch
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  // Generator-side membership attacks: at most attack_members forgotten images against as
  // many test images of their classes. The white-box attack needs `reconstruct` (the
  // engine's inversion, unlearn::ReinversionReconstructor); without it it is unavailable.
  Reconstructor reconstruct;
  int64_t attack_members = 64;
  int64_t attack_samples_per_class = 10000;  // the black-box attack's N per class
};

class MetricContext;

struct Metric {
  std::string name;
  std::string description;
  // "" when the metric can be computed from these inputs, else why not.
  std::function<std::string(const MetricInputs&)> unavailable;
  std::function<double(MetricContext&)> compute;
};

class MetricRegistry {
 public:
  void Register(Metric metric);  // throws on a duplicate name
  bool Has(const std::string& name) const { return metrics_.count(name) > 0; }
  const Metric& Get(const std::string& name) const;  // throws listing the known names
  std::vector<std::string> Names() const;
  // The metrics these inputs allow, in name order.
  std::vector<std::string> Available(const MetricInputs& inputs) const;
  // {name: value} for `names` (empty = Available(inputs)). Asking for an unknown metric or
  // one the inputs do not allow throws lethe::Error saying why. Intermediate results
  // (generated images' features, real statistics, D scores) are shared between metrics.
  Json Compute(const MetricInputs& inputs, const std::vector<std::string>& names = {}) const;

 private:
  std::map<std::string, Metric> metrics_;
};

MetricRegistry DefaultMetrics();

// The one entry point for reports: DefaultMetrics().Compute(inputs, names).
Json EvaluateModel(const MetricInputs& inputs, const std::vector<std::string>& names = {});

// FD between two generators' samples (the same codes and labels, drawn like fd_l's: labels of
// the retained set, forgotten class excluded): how far an unlearned model is from a
// retrained one. `inputs.generator` is ignored.
double FdBetweenGenerators(MetricInputs inputs, models::Generator a, models::Generator b);

// The membership-inference section of a report, from EvaluateModel's output:
// {discriminator_auc (= logan_auc), generator_whitebox_auc, generator_blackbox_auc, and the
// uncalibrated AUCs}; null where a metric was not computed.
Json MiaJson(const Json& metrics);

// Caches what several metrics share during one Compute() call.
class MetricContext {
 public:
  explicit MetricContext(const MetricInputs& inputs);
  const MetricInputs& inputs() const { return inputs_; }

  struct Generated {
    torch::Tensor labels;    // [N] int64, CPU
    torch::Tensor features;  // [N, F]
    torch::Tensor logits;    // [N, K]
  };
  // Generated images conditioned on labels drawn from `reference`'s labels (optionally
  // without class `exclude`); `key` names the draw for caching.
  const Generated& GeneratedLike(const std::string& key, const data::Dataset& reference,
                                 int exclude = -1);
  // Statistics of (a seeded sample of at most max_real of) a real data set's features.
  const FeatureStats& RealStats(const std::string& key, const data::Dataset& real);
  // D's scores of at most max_scored images of `set` (only those at `indices` if given).
  const std::vector<double>& Scores(const std::string& key, const data::Dataset& set,
                                    const std::vector<int64_t>* indices = nullptr);
  uint64_t SeedFor(const std::string& key) const;
  // The members, controls and calibration of the generator-side attacks (one draw per
  // seed, so a model's before and after are attacked with the same images).
  const AttackSets& Attack();
  const AttackResult& WhiteBox();
  const AttackResult& BlackBox();

 private:
  MetricInputs inputs_;
  std::map<std::string, Generated> generated_;
  std::map<std::string, FeatureStats> real_;
  std::map<std::string, std::vector<double>> scores_;
  std::unique_ptr<AttackSets> attack_;
  std::unique_ptr<AttackResult> white_box_, black_box_;
};

// D's raw logits for `images`. Minibatch-stddev makes a score depend on the other images of
// its batch, so every score comes from a batch of the same size drawn from the same set,
// of distinct images: batches of exactly `batch` (the tail filled up by wrapping around to
// the set's first images, whose extra scores are dropped); a set smaller than `batch` is
// scored in batches of the largest multiple of D's group size that it fills. Returns N
// doubles.
std::vector<double> DiscriminatorScores(models::Discriminator& discriminator,
                                        const torch::Tensor& images, const torch::Tensor& labels,
                                        int64_t batch, torch::Device device);

}  // namespace lethe::metrics
