// AUC and Fréchet distance against hand-computed values and closed forms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "engine/base/error.h"
#include "engine/metrics/auc.h"
#include "engine/metrics/fd.h"

namespace lethe::metrics {
namespace {

// The definition, pair by pair.
double BruteForceAuc(const std::vector<double>& pos, const std::vector<double>& neg) {
  double s = 0;
  for (double p : pos)
    for (double n : neg) s += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
  return s / double(pos.size() * neg.size());
}

TEST(MannWhitneyAuc, HandComputedCasesWithTies) {
  // {1,2,2,3} vs {2,0}: pairs won 0+1, 0.5+1, 0.5+1, 1+1 = 6 of 8.
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({1, 2, 2, 3}, {2, 0}), 0.75);
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({5, 6}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({1, 2, 3}, {5, 6}), 0.0);
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({4, 4, 4}, {4, 4}), 0.5);
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({1}, {1}), 0.5);
  // Swapping the sides gives the complement.
  EXPECT_DOUBLE_EQ(MannWhitneyAuc({2, 0}, {1, 2, 2, 3}), 0.25);
}

TEST(MannWhitneyAuc, MatchesPairCountOnRandomScoresWithTies) {
  torch::manual_seed(1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> pos, neg;
    torch::Tensor p = torch::randint(0, 8, {37 + trial}), n = torch::randint(0, 8, {23});
    for (int64_t i = 0; i < p.numel(); ++i) pos.push_back(p[i].item<double>() + 0.5);
    for (int64_t i = 0; i < n.numel(); ++i) neg.push_back(n[i].item<double>());
    EXPECT_NEAR(MannWhitneyAuc(pos, neg), BruteForceAuc(pos, neg), 1e-12);
  }
}

TEST(MannWhitneyAuc, RejectsEmptyAndNaN) {
  EXPECT_THROW(MannWhitneyAuc({}, {1.0}), Error);
  EXPECT_THROW(MannWhitneyAuc({1.0}, {}), Error);
  EXPECT_THROW(MannWhitneyAuc({std::nan("")}, {1.0}), Error);
}

TEST(FrechetDistance, IdenticalSamplesGiveZero) {
  torch::manual_seed(2);
  torch::Tensor x = torch::randn({500, 16}) * 3 + 1;
  FeatureStats s = ComputeStats(x);
  EXPECT_EQ(s.count, 500);
  EXPECT_EQ(s.mean.scalar_type(), torch::kFloat64);
  EXPECT_NEAR(FrechetDistance(s, s), 0.0, 1e-8);
  // Covariance uses N - 1.
  torch::Tensor x64 = x.to(torch::kFloat64);
  EXPECT_NEAR(s.cov[3][3].item<double>(), x64.select(1, 3).var(/*unbiased=*/true).item<double>(),
              1e-9);
}

FeatureStats Stats(const torch::Tensor& mean, const torch::Tensor& cov) {
  return {mean.to(torch::kFloat64), cov.to(torch::kFloat64), 1000};
}

TEST(FrechetDistance, ClosedFormForCommutingCovariances) {
  // Diagonal covariances: FD = ||mu1-mu2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
  torch::Tensor m1 = torch::tensor({0.0, 1.0, 2.0}), m2 = torch::tensor({1.0, 1.0, 0.0});
  torch::Tensor a = torch::tensor({4.0, 1.0, 9.0}), b = torch::tensor({1.0, 1.0, 0.25});
  double expected = 1 + 0 + 4 + std::pow(2 - 1, 2) + 0 + std::pow(3 - 0.5, 2);
  EXPECT_NEAR(FrechetDistance(Stats(m1, torch::diag(a)), Stats(m2, torch::diag(b))), expected,
              1e-9);

  // Same eigenvectors, rotated: still commuting, same answer.
  torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({3, 3}, torch::kFloat64)));
  torch::Tensor ra = q.mm(torch::diag(a).to(torch::kFloat64)).mm(q.t());
  torch::Tensor rb = q.mm(torch::diag(b).to(torch::kFloat64)).mm(q.t());
  EXPECT_NEAR(FrechetDistance(Stats(m1, ra), Stats(m2, rb)), expected, 1e-8);
}

TEST(FrechetDistance, NonCommutingCovariancesMatchTheTwoByTwoFormula) {
  // For 2x2 SPD A, B: Tr((AB)^(1/2)) = sqrt(tr(AB) + 2 sqrt(det(AB))).
  torch::Tensor a = torch::tensor({{2.0, 0.5}, {0.5, 1.0}}, torch::kFloat64);
  torch::Tensor b = torch::tensor({{1.0, -0.3}, {-0.3, 3.0}}, torch::kFloat64);
  torch::Tensor ab = a.mm(b);
  double tr_sqrt =
      std::sqrt(ab.trace().item<double>() + 2 * std::sqrt(torch::det(ab).item<double>()));
  double expected = a.trace().item<double>() + b.trace().item<double>() - 2 * tr_sqrt;
  torch::Tensor zero = torch::zeros({2}, torch::kFloat64);
  EXPECT_NEAR(FrechetDistance(Stats(zero, a), Stats(zero, b)), expected, 1e-10);
}

TEST(FrechetDistance, SampledGaussiansApproachTheClosedForm) {
  torch::manual_seed(3);
  const int64_t n = 200000;
  torch::Tensor x = torch::randn({n, 4}, torch::kFloat64) * 2.0;        // cov 4 I
  torch::Tensor y = torch::randn({n, 4}, torch::kFloat64) * 0.5 + 3.0;  // cov I/4, mean 3
  double expected = 4 * 9.0 + 4 * std::pow(2.0 - 0.5, 2);
  EXPECT_NEAR(FrechetDistance(ComputeStats(x), ComputeStats(y)), expected, 0.05 * expected);
}

TEST(FrechetDistance, SingularCovariancesStayFiniteAndMismatchIsAnError) {
  torch::Tensor x = torch::zeros({10, 3});
  x.select(1, 0).copy_(torch::arange(10));  // rank-1 covariance
  FeatureStats s = ComputeStats(x);
  double fd = FrechetDistance(s, s);
  EXPECT_TRUE(std::isfinite(fd));
  EXPECT_NEAR(fd, 0.0, 1e-6);
  EXPECT_THROW(FrechetDistance(s, ComputeStats(torch::randn({10, 4}))), Error);
  EXPECT_THROW(ComputeStats(torch::randn({1, 4})), Error);
}

}  // namespace
}  // namespace lethe::metrics
