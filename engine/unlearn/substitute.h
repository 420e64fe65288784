// The substitute mechanism: the latent code that pointed at a forgotten image must keep
// pointing at something meaningful, or the latent space tears. These are pure functions
// on latent tensors; the cascade synthesises x_s = S0(Substitute(...)) with the frozen raw
// generator.
//
// Latents are [N, w_dim] or [N, L, w_dim] (one code per synthesis layer); class means are
// [C, w_dim] and broadcast over L.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace lethe::unlearn {

enum class SubstituteKind {
  kAverage,     // item: w̄ of the item's class; class: w̄ of the forgotten class
  kTruncation,  // item: w̄_c + ψ (w_u − w̄_c), fixed ψ ∈ [0, 1)
  kProjection,  // item: as truncation with ψ decaying 1 → 0 over the run
  kOtherClass,  // class: w̄ of the nearest other class, c* = argmin_{c≠c_u} ||w_u − w̄_c||
};

enum class PsiSchedule { kLinear, kCosine };

struct SubstituteOptions {
  SubstituteKind kind = SubstituteKind::kAverage;
  double psi = 0.5;  // truncation
  PsiSchedule schedule = PsiSchedule::kLinear;
  int64_t decay_iterations = 200;  // projection: ψ reaches 0 after this many iterations
};

std::string SubstituteName(SubstituteKind kind);
SubstituteKind ParseSubstitute(const std::string& name);  // throws lethe::Error
std::string PsiScheduleName(PsiSchedule schedule);
PsiSchedule ParsePsiSchedule(const std::string& name);

// Projection's ψ at `iteration` (0-based): 1 at 0, monotone non-increasing, 0 from
// `decay_iterations` on. Linear: 1 − t/N; cosine: (1 + cos(π t/N)) / 2.
double ProjectionPsi(PsiSchedule schedule, int64_t iteration, int64_t decay_iterations);

// ψ the substitute uses at `iteration`: 0 for average and other-class, the fixed ψ for
// truncation, the schedule for projection.
double SubstitutePsi(const SubstituteOptions& options, int64_t iteration);

// Per-item class means: rows of `class_means` [C, w_dim] picked by `labels` [N], shaped
// like `like` ([N, w_dim] or [N, L, w_dim]).
torch::Tensor ClassMeanFor(const torch::Tensor& class_means, const torch::Tensor& labels,
                           const torch::Tensor& like);

// w̄ + ψ (w − w̄), elementwise; ψ = 0 is the average, ψ = 1 is w itself.
torch::Tensor Truncate(const torch::Tensor& w, const torch::Tensor& w_bar, double psi);

// c* = argmin_{c ≠ excluded} ||w_i − w̄_c|| per row of `w` ([N, w_dim] or [N, L, w_dim],
// where the distance is taken over every layer's code). Returns [N] int64.
torch::Tensor NearestOtherClass(const torch::Tensor& w, const torch::Tensor& class_means,
                                int64_t excluded_class);

// The substitute latents for `w` (codes of forgotten content, labels [N]) at `iteration`.
// `forgotten_class` is required (≥ 0) for other-class, where the returned labels are c*;
// otherwise the returned labels are `labels`.
struct SubstituteLatents {
  torch::Tensor w;       // like `w`
  torch::Tensor labels;  // [N] int64: the class the substitute depicts
};
SubstituteLatents Substitute(const SubstituteOptions& options, const torch::Tensor& w,
                             const torch::Tensor& labels, const torch::Tensor& class_means,
                             int64_t forgotten_class, int64_t iteration);

// True when the substitute does not change with the iteration (so x_s can be cached).
bool SubstituteIsStatic(const SubstituteOptions& options);

}  // namespace lethe::unlearn
