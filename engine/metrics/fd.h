// Fréchet distance between two sets of feature vectors, each summarised by a Gaussian
// (mean, covariance): ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).
//
// This is "FD" in the feature space of Lethe's domain classifier (metrics/evaluator.h),
// NOT Inception FID: no ImageNet network is available offline. Values are comparable
// only between runs that use the same evaluator.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace lethe::metrics {

struct FeatureStats {
  torch::Tensor mean;  // float64 [d]
  torch::Tensor cov;   // float64 [d, d], unbiased (N - 1)
  int64_t count = 0;
};

// Statistics of `features` [N, d] (N >= 2), accumulated in float64 on the features' device,
// returned on the CPU.
FeatureStats ComputeStats(const torch::Tensor& features);

// The trace of the matrix square root is computed stably: sqrt(S1) by a symmetric
// eigendecomposition, then the eigenvalues of the symmetric PSD sqrt(S1) S2 sqrt(S1)
// (tiny negatives from rounding clamped to 0), whose square roots sum to
// Tr((S1 S2)^(1/2)). If the result is not finite, eps*I is added to both covariances and
// it is computed again (as pytorch-fid does). Throws lethe::Error on mismatched dimensions.
double FrechetDistance(const FeatureStats& a, const FeatureStats& b, double eps = 1e-6);

}  // namespace lethe::metrics
