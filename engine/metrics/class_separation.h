// How far apart the real classes are in the evaluator's feature space. Class unlearning's
// default destination is scale-free: the forgotten class's generated images must end up at
// least as far (in FD) from the real class as the nearest *other* real class is.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/fd.h"

namespace lethe::metrics {

// Up to `max_count` indices of [0, n), a seeded sample, in increasing order (all when
// n <= max_count).
std::vector<int64_t> SampleIndices(int64_t n, int64_t max_count, uint64_t seed);

// Evaluator feature statistics of `data`'s items at `indices`.
FeatureStats StatsOf(const Evaluator& evaluator, const data::Dataset& data,
                     const std::vector<int64_t>& indices, int64_t batch = 512);

// min over c != c_u of FD(real_c, real_{c_u}), each class a seeded sample of at most
// `max_per_class` images of `real`. Throws when c_u or fewer than one other class has
// fewer than 2 images.
double ClassSeparationFd(const data::Dataset& real, const Evaluator& evaluator, int c_u,
                         int64_t max_per_class = 5000, uint64_t seed = 0);

// The same, with the forgotten class's statistics given (its images may live in a
// separate data set, e.g. the forget set, while `others` holds the retained classes).
double ClassSeparationFd(const data::Dataset& others, const FeatureStats& forgotten_class,
                         const Evaluator& evaluator, int c_u, int64_t max_per_class, uint64_t seed);

}  // namespace lethe::metrics
