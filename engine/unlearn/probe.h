// The destination's numbers, measured every k iterations on samples fixed at the start (so
// successive checks compare the model, not the draw):
//   AUC_u     = P(D(x_l) > D(x_r)), x_r the reference: in few-shot the retained source's
//               held sample; in zero-shot, which never reads a retained image (not even to
//               decide when to stop), never-trained test images of the retained classes
//               (raw-generator samples when there is no test split);
//   LOGAN AUC = P(D(x_u) > D(x_t)), x_t test images of the forgotten images' classes;
//   FD_u      = FD(G(z, c_u), real c_u) on the evaluator's features (class requests), and
//               the share of those G(z, c_u) the evaluator still classifies as c_u;
//   the generator-side attack (generator policy, items): the calibrated re-inversion
//               attack's AUC on members and controls fixed at the start (GeneratorAuc).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/fd.h"
#include "engine/metrics/reinversion_attack.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"
#include "engine/unlearn/destination.h"
#include "engine/unlearn/inversion_options.h"
#include "engine/unlearn/retained_source.h"

namespace lethe::unlearn {

struct ProbeOptions {
  int64_t reference_samples = 512;  // x_l and x_t sizes (at most)
  int64_t forget_samples = 1024;    // x_u size (at most; class requests have thousands)
  int64_t fd_samples = 1000;        // generated c_u images for FD_u
  int64_t score_batch = 64;         // D scores batches of this size (minibatch-stddev)
  uint64_t seed = 0;
};

// D's raw logits for `images` (metrics::DiscriminatorScores: equal-size batches, so
// minibatch-stddev treats every image alike), as doubles on the CPU.
std::vector<double> ScoreImages(models::Discriminator& d, const torch::Tensor& images,
                                const torch::Tensor& labels, int64_t batch);

// Test items of the classes in `labels`, in proportion to their counts, at most `max_total`
// (drawn with `seed`), in random order; empty when `test` has none.
data::Dataset MatchingTestSample(const data::Dataset& test, const torch::Tensor& labels,
                                 int64_t max_total, uint64_t seed);

// Up to `n` test items of every class but `excluded_class` (-1: none), in random order.
data::Dataset TestReference(const data::Dataset& test, int64_t excluded_class, int64_t n,
                            uint64_t seed);

class DestinationProbe {
 public:
  // `evaluator` is needed for class requests (FD_u); `reference` is the x_l side of
  // AUC_u; z_dim is the generator's (FD_u's codes are drawn once, here). Every sample is
  // scored in a seeded random order, so minibatch-stddev groups are composed alike.
  DestinationProbe(RequestKind kind, int64_t forget_class, const data::Dataset& forget,
                   const RealBatch& reference, const data::Dataset& test,
                   const metrics::Evaluator* evaluator, int64_t z_dim, const ProbeOptions& options,
                   torch::Device device);

  Measurement Measure(models::Generator& g, models::Discriminator& d, int64_t iteration);
  // Arms the generator-side attack: members = forgotten images, controls = test images of
  // their classes (metrics::BuildAttackSets), inverted afresh with `inversion` each time.
  // Throws when there are no test images of the forgotten classes.
  void ArmGeneratorAttack(const data::Dataset& forget, const data::Dataset& test,
                          const InversionOptions& inversion, int64_t max_members, uint64_t seed);
  bool generator_attack_armed() const { return attack_ != nullptr; }
  // The calibrated re-inversion attack against `g` (ArmGeneratorAttack first): its AUC and
  // the codes it found for the members (what still draws them), with their labels.
  struct GeneratorAttack {
    double auc = 0.5;
    torch::Tensor member_codes, member_labels;
  };
  GeneratorAttack AttackGenerator(models::Generator& g);
  bool has_test() const { return test_images_.defined() && test_images_.size(0) > 0; }
  int64_t reference_count() const { return ref_images_.size(0); }
  int64_t test_count() const { return has_test() ? test_images_.size(0) : 0; }

 private:
  RequestKind kind_;
  int64_t forget_class_;
  const metrics::Evaluator* evaluator_;
  ProbeOptions options_;
  torch::Device device_;
  torch::Tensor forget_images_, forget_labels_;
  torch::Tensor ref_images_, ref_labels_;
  torch::Tensor test_images_, test_labels_;
  torch::Tensor fd_z_, fd_labels_;
  metrics::FeatureStats real_class_stats_;
  std::unique_ptr<metrics::AttackSets> attack_;
  InversionOptions attack_inversion_;
};

}  // namespace lethe::unlearn
