#include "engine/metrics/class_separation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/base/error.h"
#include "engine/data/sampler.h"

namespace lethe::metrics {

std::vector<int64_t> SampleIndices(int64_t n, int64_t max_count, uint64_t seed) {
  std::vector<int64_t> out;
  if (n <= max_count || max_count < 0) {
    out.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = i;
    return out;
  }
  torch::Generator gen = data::MakeGenerator(seed);
  torch::Tensor perm = torch::randperm(n, gen, torch::kInt64).narrow(0, 0, max_count);
  perm = std::get<0>(perm.sort());
  out.assign(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + max_count);
  return out;
}

FeatureStats StatsOf(const Evaluator& evaluator, const data::Dataset& data,
                     const std::vector<int64_t>& indices, int64_t batch) {
  if (indices.size() < 2)
    throw Error("feature statistics of " + data.name + " need at least 2 images, got " +
                std::to_string(indices.size()));
  torch::Tensor idx = torch::tensor(indices, torch::kInt64);
  std::vector<torch::Tensor> features;
  for (int64_t i = 0; i < idx.numel(); i += batch) {
    torch::Tensor part = idx.narrow(0, i, std::min(batch, idx.numel() - i));
    features.push_back(evaluator.Features(data.images.index_select(0, part), batch));
  }
  return ComputeStats(torch::cat(features, 0));
}

namespace {

std::vector<int64_t> SampleOfClass(const data::Dataset& data, int c, int64_t max_count,
                                   uint64_t seed) {
  std::vector<int64_t> all = data.IndicesOfClass(c);
  std::vector<int64_t> pick = SampleIndices(int64_t(all.size()), max_count, seed + uint64_t(c));
  for (int64_t& i : pick) i = all[size_t(i)];
  return pick;
}

}  // namespace

double ClassSeparationFd(const data::Dataset& others, const FeatureStats& forgotten_class,
                         const Evaluator& evaluator, int c_u, int64_t max_per_class,
                         uint64_t seed) {
  double best = std::numeric_limits<double>::infinity();
  for (int c = 0; c < others.num_classes; ++c) {
    if (c == c_u) continue;
    std::vector<int64_t> idx = SampleOfClass(others, c, max_per_class, seed);
    if (idx.size() < 2) continue;
    best = std::min(best, FrechetDistance(StatsOf(evaluator, others, idx), forgotten_class));
  }
  if (!std::isfinite(best))
    throw Error("class separation needs another class with at least 2 images in " + others.name);
  return best;
}

double ClassSeparationFd(const data::Dataset& real, const Evaluator& evaluator, int c_u,
                         int64_t max_per_class, uint64_t seed) {
  if (c_u < 0 || c_u >= real.num_classes)
    throw Error("class " + std::to_string(c_u) + " out of range for " + real.name);
  std::vector<int64_t> idx = SampleOfClass(real, c_u, max_per_class, seed);
  if (idx.size() < 2)
    throw Error("class " + std::to_string(c_u) + " of " + real.name + " has fewer than 2 images");
  return ClassSeparationFd(real, StatsOf(evaluator, real, idx), evaluator, c_u, max_per_class,
                           seed);
}

}  // namespace lethe::metrics
