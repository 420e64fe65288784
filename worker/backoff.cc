#include "worker/backoff.h"

#include <algorithm>
#include <cmath>

namespace lethe::worker {

double BackoffSeconds(const BackoffPolicy& policy, int retry, double unit_random) {
  retry = std::max(0, retry);
  double base = policy.initial_seconds * std::pow(policy.multiplier, double(retry));
  if (!std::isfinite(base) || base > policy.max_seconds) base = policy.max_seconds;
  double u = std::clamp(unit_random, 0.0, 1.0);
  double scale = 1.0 + std::clamp(policy.jitter, 0.0, 1.0) * (2.0 * u - 1.0);
  return std::max(0.0, base * scale);
}

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

}  // namespace lethe::worker
