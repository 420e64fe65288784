#include "engine/unlearn/substitute.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/base/error.h"

namespace lethe::unlearn {

std::string SubstituteName(SubstituteKind kind) {
  switch (kind) {
    case SubstituteKind::kAverage:
      return "average";
    case SubstituteKind::kTruncation:
      return "truncation";
    case SubstituteKind::kProjection:
      return "projection";
    case SubstituteKind::kOtherClass:
      return "other-class";
  }
  return "?";
}

SubstituteKind ParseSubstitute(const std::string& name) {
  for (auto k : {SubstituteKind::kAverage, SubstituteKind::kTruncation, SubstituteKind::kProjection,
                 SubstituteKind::kOtherClass})
    if (SubstituteName(k) == name) return k;
  throw Error("unknown substitute \"" + name +
              "\" (expected average, truncation, projection or other-class)");
}

std::string PsiScheduleName(PsiSchedule schedule) {
  return schedule == PsiSchedule::kLinear ? "linear" : "cosine";
}

PsiSchedule ParsePsiSchedule(const std::string& name) {
  if (name == "linear") return PsiSchedule::kLinear;
  if (name == "cosine") return PsiSchedule::kCosine;
  throw Error("unknown psi schedule \"" + name + "\" (expected linear or cosine)");
}

double ProjectionPsi(PsiSchedule schedule, int64_t iteration, int64_t decay_iterations) {
  if (decay_iterations <= 0) return 0.0;
  double t = std::clamp(double(iteration) / double(decay_iterations), 0.0, 1.0);
  if (schedule == PsiSchedule::kLinear) return 1.0 - t;
  return 0.5 * (1.0 + std::cos(M_PI * t));
}

double SubstitutePsi(const SubstituteOptions& options, int64_t iteration) {
  switch (options.kind) {
    case SubstituteKind::kTruncation:
      return options.psi;
    case SubstituteKind::kProjection:
      return ProjectionPsi(options.schedule, iteration, options.decay_iterations);
    default:
      return 0.0;
  }
}

torch::Tensor ClassMeanFor(const torch::Tensor& class_means, const torch::Tensor& labels,
                           const torch::Tensor& like) {
  torch::Tensor m = class_means.index_select(0, labels.to(class_means.device(), torch::kLong));
  if (like.dim() == 3) m = m.unsqueeze(1).expand_as(like);
  return m.to(like.dtype());
}

torch::Tensor Truncate(const torch::Tensor& w, const torch::Tensor& w_bar, double psi) {
  return w_bar + psi * (w - w_bar);
}

torch::Tensor NearestOtherClass(const torch::Tensor& w, const torch::Tensor& class_means,
                                int64_t excluded_class) {
  const int64_t classes = class_means.size(0);
  if (classes < 2) throw Error("other-class substitute needs a model with at least two classes");
  if (excluded_class < 0 || excluded_class >= classes)
    throw Error("class " + std::to_string(excluded_class) + " is out of range for a model of " +
                std::to_string(classes) + " classes");
  // Squared distance of each row to each class mean, summed over layers when w is [N,L,D].
  torch::Tensor means = class_means.to(w.dtype());
  torch::Tensor d;
  if (w.dim() == 3)
    d = (w.unsqueeze(1) - means.unsqueeze(0).unsqueeze(2)).pow(2).sum({2, 3});
  else
    d = (w.unsqueeze(1) - means.unsqueeze(0)).pow(2).sum(2);
  d.select(1, excluded_class).fill_(std::numeric_limits<float>::infinity());
  return d.argmin(1);
}

SubstituteLatents Substitute(const SubstituteOptions& options, const torch::Tensor& w,
                             const torch::Tensor& labels, const torch::Tensor& class_means,
                             int64_t forgotten_class, int64_t iteration) {
  SubstituteLatents out;
  if (options.kind == SubstituteKind::kOtherClass) {
    out.labels = NearestOtherClass(w.detach(), class_means, forgotten_class);
    out.w = ClassMeanFor(class_means, out.labels, w);
    return out;
  }
  out.labels = labels.to(torch::kLong);
  torch::Tensor w_bar = ClassMeanFor(class_means, out.labels, w);
  double psi = SubstitutePsi(options, iteration);
  out.w = psi == 0.0 ? w_bar.clone() : Truncate(w.detach(), w_bar, psi);
  return out;
}

bool SubstituteIsStatic(const SubstituteOptions& options) {
  return options.kind != SubstituteKind::kProjection;
}

}  // namespace lethe::unlearn
