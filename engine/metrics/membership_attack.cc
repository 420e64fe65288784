#include "engine/metrics/membership_attack.h"

#include <algorithm>
#include <vector>

#include "engine/base/error.h"
#include "engine/data/sampler.h"
#include "engine/metrics/auc.h"

namespace lethe::metrics {
namespace {

std::vector<double> Negated(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<double> out(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  for (double& v : out) v = -v;
  return out;
}

// A seeded random permutation of `rows`.
std::vector<int64_t> Shuffled(std::vector<int64_t> rows, torch::Generator& rng) {
  torch::Tensor perm = torch::randperm(int64_t(rows.size()), rng, torch::kLong);
  std::vector<int64_t> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = rows[size_t(perm[int64_t(i)].item<int64_t>())];
  return out;
}

}  // namespace

AttackSets BuildAttackSets(const data::Dataset& members, const data::Dataset& test,
                           const AttackSetOptions& options) {
  if (members.size() == 0) throw Error("a membership attack needs at least one member");
  torch::Generator rng = data::MakeGenerator(options.seed);
  std::vector<int64_t> all(size_t(members.size()));
  for (int64_t i = 0; i < members.size(); ++i) all[size_t(i)] = i;
  std::vector<int64_t> picked = Shuffled(all, rng);
  picked.resize(size_t(std::min<int64_t>(members.size(), options.max_members)));
  data::Dataset m = members.Subset(picked);
  // Controls: one test image of the member's class per member; the reference: other test
  // images of those classes.
  std::vector<int64_t> controls, reference;
  std::vector<int64_t> counts = m.ClassCounts();
  for (int c = 0; c < int(counts.size()); ++c) {
    if (counts[size_t(c)] == 0) continue;
    std::vector<int64_t> of_class = Shuffled(test.IndicesOfClass(c), rng);
    const size_t take = std::min(of_class.size(), size_t(counts[size_t(c)]));
    controls.insert(controls.end(), of_class.begin(), of_class.begin() + long(take));
    reference.insert(reference.end(), of_class.begin() + long(take), of_class.end());
  }
  if (controls.empty())
    throw Error("a membership attack needs test images of the members' classes");
  reference = Shuffled(reference, rng);
  reference.resize(std::min(reference.size(), size_t(std::max<int64_t>(options.reference_images, 2))));
  if (reference.size() < 2) throw Error("too few test images to calibrate a membership attack");
  data::Dataset t = test.Subset(controls), r = test.Subset(reference);
  AttackSets sets;
  sets.member_images = m.images;
  sets.member_labels = m.labels;
  sets.control_images = t.images;
  sets.control_labels = t.labels;
  sets.reference = PcaReference::Fit(r.images, options.components);
  return sets;
}

PcaReference PcaReference::Fit(const torch::Tensor& images, int64_t components) {
  if (images.size(0) < 2) throw Error("the attack's reference needs at least 2 images");
  torch::NoGradGuard no_grad;
  torch::Tensor x = images.to(torch::kCPU, torch::kFloat64).flatten(1);
  PcaReference ref;
  ref.mean_ = x.mean(0);
  torch::Tensor centred = x - ref.mean_;
  // Right singular vectors of the centred data = principal directions, largest first.
  torch::Tensor v = std::get<2>(torch::linalg_svd(centred, /*full_matrices=*/false)).t();
  const int64_t k = std::clamp<int64_t>(components, 1, std::min(v.size(1), x.size(1)));
  ref.basis_ = v.narrow(1, 0, k).contiguous();
  return ref;
}

torch::Tensor PcaReference::ReconstructionError(const torch::Tensor& images) const {
  if (!basis_.defined()) throw lethe::Error("PCA reference used before it was fitted");
  torch::NoGradGuard no_grad;
  torch::Tensor x = images.to(torch::kCPU, torch::kFloat64).flatten(1);
  if (x.size(1) != mean_.size(0)) throw lethe::Error("PCA reference fitted on other images");
  torch::Tensor c = x - mean_;
  torch::Tensor projected = c.matmul(basis_).matmul(basis_.t());
  return (c - projected).pow(2).mean(1);
}

torch::Tensor CalibratedScores(const torch::Tensor& distances, const torch::Tensor& reference) {
  torch::Tensor d = distances.to(torch::kCPU, torch::kFloat64).clamp_min(1e-12);
  torch::Tensor r = reference.to(torch::kCPU, torch::kFloat64).clamp_min(1e-12);
  return d.log() - r.log();
}

double MembershipAuc(const torch::Tensor& member_scores, const torch::Tensor& control_scores) {
  return MannWhitneyAuc(Negated(member_scores), Negated(control_scores));
}

AttackResult ScoreAttack(const AttackSets& sets, const torch::Tensor& member_distances,
                         const torch::Tensor& control_distances) {
  AttackResult r;
  r.members = member_distances.numel();
  r.controls = control_distances.numel();
  r.raw_auc = MembershipAuc(member_distances, control_distances);
  r.auc = MembershipAuc(
      CalibratedScores(member_distances, sets.reference.ReconstructionError(sets.member_images)),
      CalibratedScores(control_distances,
                       sets.reference.ReconstructionError(sets.control_images)));
  r.member_distance = member_distances.to(torch::kFloat64).mean().item<double>();
  r.control_distance = control_distances.to(torch::kFloat64).mean().item<double>();
  return r;
}

}  // namespace lethe::metrics
