// What the generator-side membership attacks share: the members and never-seen controls
// they compare, and their calibration (GAN-Leaks, Chen et al., CCS 2020):
// how well a generator reconstructs an image says as much about the image (a plain T-shirt
// is easy for any model) as about the generator's memory. The attacks therefore score
//   log d_G(x) − log d_ref(x)
// where d_ref is the reconstruction error of a reference model that never saw x: a linear
// (PCA) model of never-seen images, fitted on test images disjoint from the attack's
// controls. A ratio rather than GAN-Leaks' difference, because the reference is a model of
// another kind and scale. What the reference reconstructs as well as G does not count.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "engine/data/dataset.h"

namespace lethe::metrics {

class PcaReference {
 public:
  PcaReference() = default;
  // Fits the mean and the top `components` principal directions of `images` [N, ...]
  // (flattened). Throws lethe::Error with fewer than 2 images.
  static PcaReference Fit(const torch::Tensor& images, int64_t components);
  // Per-image mean squared error of the projection onto the fitted subspace, [N] float64.
  torch::Tensor ReconstructionError(const torch::Tensor& images) const;
  int64_t components() const { return basis_.defined() ? basis_.size(1) : 0; }

 private:
  torch::Tensor mean_;   // [P]
  torch::Tensor basis_;  // [P, k], orthonormal columns
};

// Who an attack compares: up to `max_members` forgotten images (members), as many test
// images of the same classes in the same proportions (controls, never trained on), and the
// calibration reference fitted on other test images of those classes.
struct AttackSets {
  torch::Tensor member_images, member_labels;    // [M, C, R, R], [M], CPU
  torch::Tensor control_images, control_labels;  // [M', C, R, R], [M'], CPU
  PcaReference reference;
};
struct AttackSetOptions {
  int64_t max_members = 64;
  int64_t reference_images = 1000;
  int64_t components = 16;
  uint64_t seed = 0;
};
// Throws lethe::Error when `members` is empty or `test` holds no image of their classes.
AttackSets BuildAttackSets(const data::Dataset& members, const data::Dataset& test,
                           const AttackSetOptions& options);

// What an attack found: the calibrated AUC (the attack's answer), the AUC of the raw
// distances (no calibration), and the mean raw distances of both sides.
struct AttackResult {
  double auc = 0.5;
  double raw_auc = 0.5;
  double member_distance = 0.0;
  double control_distance = 0.0;
  int64_t members = 0, controls = 0;
};
// Scores both sides (distances, lower = more likely a member) into an AttackResult.
AttackResult ScoreAttack(const AttackSets& sets, const torch::Tensor& member_distances,
                         const torch::Tensor& control_distances);

// log(distance) − log(reference error), both [N]; distances are floored at 1e-12.
torch::Tensor CalibratedScores(const torch::Tensor& distances, const torch::Tensor& reference);

// P(member looks more like a member than a control) for scores where lower = more likely a
// member (reconstruction distances): the Mann-Whitney AUC of −members over −controls.
double MembershipAuc(const torch::Tensor& member_scores, const torch::Tensor& control_scores);

}  // namespace lethe::metrics
