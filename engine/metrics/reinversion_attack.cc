#include "engine/metrics/reinversion_attack.h"

#include "engine/base/error.h"

namespace lethe::metrics {

torch::Tensor PixelDistances(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64))
      .pow(2)
      .flatten(1)
      .mean(1);
}

AttackResult ReinversionAttack(models::Generator& g, const AttackSets& sets,
                               const Reconstructor& reconstruct, torch::Device device) {
  if (!reconstruct) throw Error("the re-inversion attack needs a reconstructor");
  const int64_t m = sets.member_images.size(0);
  torch::Tensor images = torch::cat({sets.member_images, sets.control_images}).to(device);
  torch::Tensor labels =
      torch::cat({sets.member_labels, sets.control_labels}).to(device, torch::kLong);
  torch::Tensor rec = reconstruct(g, images, labels);
  if (!rec.defined() || rec.sizes() != images.sizes())
    throw Error("the reconstructor returned images of another shape");
  torch::Tensor d = PixelDistances(rec.detach(), images);
  return ScoreAttack(sets, d.narrow(0, 0, m), d.narrow(0, m, d.size(0) - m));
}

}  // namespace lethe::metrics
