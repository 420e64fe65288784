#include "engine/metrics/fd.h"

#include <cmath>
#include <string>
#include <tuple>

#include "engine/base/error.h"

namespace lethe::metrics {
namespace {

torch::Tensor Symmetrize(const torch::Tensor& m) { return (m + m.transpose(0, 1)) * 0.5; }

// Tr((A B)^(1/2)) for symmetric PSD A, B.
double TraceSqrtProduct(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor evals, evecs;
  std::tie(evals, evecs) = torch::linalg_eigh(Symmetrize(a), "L");
  torch::Tensor sqrt_a = torch::mm(evecs * evals.clamp_min(0).sqrt().unsqueeze(0), evecs.t());
  torch::Tensor m = Symmetrize(torch::mm(torch::mm(sqrt_a, b), sqrt_a));
  return torch::linalg_eigvalsh(m, "L").clamp_min(0).sqrt().sum().item<double>();
}

double Distance(const FeatureStats& a, const FeatureStats& b, const torch::Tensor& offset) {
  torch::Tensor s1 = a.cov + offset, s2 = b.cov + offset;
  const double mean_term = (a.mean - b.mean).pow(2).sum().item<double>();
  const double trace_term =
      s1.trace().item<double>() + s2.trace().item<double>() - 2 * TraceSqrtProduct(s1, s2);
  return mean_term + trace_term;
}

}  // namespace

FeatureStats ComputeStats(const torch::Tensor& features) {
  if (features.dim() != 2) throw Error("feature statistics need a [N, d] tensor");
  if (features.size(0) < 2)
    throw Error("feature statistics need at least 2 samples, got " +
                std::to_string(features.size(0)));
  torch::NoGradGuard no_grad;
  torch::Tensor x = features.to(torch::kFloat64);
  torch::Tensor mean = x.mean(0);
  torch::Tensor centred = x - mean;
  torch::Tensor cov = torch::mm(centred.t(), centred) / double(x.size(0) - 1);
  return {mean.cpu(), cov.cpu(), x.size(0)};
}

double FrechetDistance(const FeatureStats& a, const FeatureStats& b, double eps) {
  if (!a.mean.defined() || !b.mean.defined()) throw Error("Fréchet distance of empty statistics");
  if (a.mean.numel() != b.mean.numel() || a.cov.size(0) != a.mean.numel() ||
      b.cov.size(0) != b.mean.numel())
    throw Error("Fréchet distance between features of different dimensions (" +
                std::to_string(a.mean.numel()) + " vs " + std::to_string(b.mean.numel()) + ")");
  torch::NoGradGuard no_grad;
  const int64_t d = a.mean.numel();
  double fd = Distance(a, b, torch::zeros({d, d}, torch::kFloat64));
  if (!std::isfinite(fd)) fd = Distance(a, b, torch::eye(d, torch::kFloat64) * eps);
  if (!std::isfinite(fd)) throw Error("Fréchet distance is not finite (degenerate features?)");
  // Rounding can leave -1e-12 for identical statistics; a distance is never negative.
  return std::max(fd, 0.0);
}

}  // namespace lethe::metrics
