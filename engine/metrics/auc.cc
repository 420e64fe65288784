#include "engine/metrics/auc.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/base/error.h"

namespace lethe::metrics {

double MannWhitneyAuc(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty())
    throw Error("AUC needs at least one score on each side (got " +
                std::to_string(positives.size()) + " positives, " +
                std::to_string(negatives.size()) + " negatives)");
  // (score, is_positive), sorted by score.
  std::vector<std::pair<double, bool>> pooled;
  pooled.reserve(positives.size() + negatives.size());
  for (double s : positives) pooled.emplace_back(s, true);
  for (double s : negatives) pooled.emplace_back(s, false);
  for (const auto& p : pooled)
    if (std::isnan(p.first)) throw Error("AUC input contains NaN scores");
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Sum of the positives' ranks (1-based), ties given their average rank.
  double positive_rank_sum = 0;
  size_t i = 0;
  while (i < pooled.size()) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double average_rank = 0.5 * double(i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (pooled[k].second) positive_rank_sum += average_rank;
    i = j;
  }
  const double np = double(positives.size()), nn = double(negatives.size());
  const double u = positive_rank_sum - np * (np + 1) / 2;
  return u / (np * nn);
}

}  // namespace lethe::metrics
