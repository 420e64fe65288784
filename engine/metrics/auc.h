// Area under the ROC curve as the Mann-Whitney statistic: the probability that a random
// positive scores above a random negative, ties counting one half. Used for AUC_u
// (retained vs forgotten discriminator scores) and the LOGAN membership-inference AUC.
#pragma once

#include <vector>

namespace lethe::metrics {

// P(pos > neg) + 0.5 P(pos == neg), in O(n log n) by ranking the pooled scores (tied
// scores share their average rank). Throws lethe::Error if either side is empty or a
// score is NaN.
double MannWhitneyAuc(const std::vector<double>& positives, const std::vector<double>& negatives);

}  // namespace lethe::metrics
