#include "engine/metrics/sample_attack.h"

#include <algorithm>
#include <limits>
#include <set>

#include "engine/base/error.h"
#include "engine/data/sampler.h"

namespace lethe::metrics {

torch::Tensor NearestDistances(const torch::Tensor& queries, const torch::Tensor& candidates) {
  torch::Tensor q = queries.to(torch::kCPU, torch::kFloat64).flatten(1);
  torch::Tensor c = candidates.to(torch::kCPU, torch::kFloat64).flatten(1);
  torch::Tensor d =
      q.pow(2).sum(1, true) - 2 * q.matmul(c.t()) + c.pow(2).sum(1).unsqueeze(0);
  return std::get<0>(d.min(1)).clamp_min(0) / double(q.size(1));
}

AttackResult SampleAttack(models::Generator& g, const AttackSets& sets,
                          const SampleAttackOptions& options, torch::Device device) {
  if (options.samples_per_class < 1 || options.batch < 1)
    throw Error("the sample attack needs samples_per_class >= 1 and batch >= 1");
  torch::NoGradGuard no_grad;
  torch::Tensor queries = torch::cat({sets.member_images, sets.control_images});
  torch::Tensor labels = torch::cat({sets.member_labels, sets.control_labels}).to(torch::kLong);
  const int64_t n = queries.size(0), m = sets.member_images.size(0);
  torch::Tensor best = torch::full({n}, std::numeric_limits<double>::infinity(), torch::kFloat64);
  std::set<int64_t> classes;
  for (int64_t i = 0; i < n; ++i) classes.insert(labels[i].item<int64_t>());
  for (int64_t c : classes) {
    torch::Tensor rows = labels.eq(c).nonzero().flatten();
    torch::Tensor q = queries.index_select(0, rows);
    torch::Tensor nearest = torch::full({rows.size(0)}, std::numeric_limits<double>::infinity(),
                                        torch::kFloat64);
    // Each class its own stream, so a class's samples do not depend on the other classes.
    torch::Generator rng = data::MakeGenerator(options.seed + 7919 * uint64_t(c + 1));
    for (int64_t done = 0; done < options.samples_per_class; done += options.batch) {
      const int64_t b = std::min(options.batch, options.samples_per_class - done);
      torch::Tensor z = torch::randn({b, int64_t(g->config().z_dim)}, rng).to(device);
      torch::Tensor y = torch::full({b}, c, torch::dtype(torch::kLong).device(device));
      torch::Tensor samples = g->forward(z, y, models::NoiseMode::kConst).clamp(-1, 1);
      nearest = torch::minimum(nearest, NearestDistances(q, samples));
    }
    best.index_copy_(0, rows, nearest);
  }
  return ScoreAttack(sets, best.narrow(0, 0, m), best.narrow(0, m, n - m));
}

}  // namespace lethe::metrics
