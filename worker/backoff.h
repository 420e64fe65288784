// Retries of transient failures (database unavailable, lost connection, I/O on the model
// store) with capped exponential backoff and jitter, so several workers that lost the
// database together do not reconnect in lock step. Pure: the random draw is passed in.
#pragma once

#include "absl/status/status.h"

namespace lethe::worker {

struct BackoffPolicy {
  double initial_seconds = 0.5;
  double multiplier = 2.0;
  double max_seconds = 30.0;
  double jitter = 0.2;  // the delay is scaled by a factor in [1 - jitter, 1 + jitter]
  int max_retries = 5;  // retries after the first try
};

// Delay before retry number `retry` (0-based): min(max, initial * multiplier^retry),
// scaled by 1 + jitter * (2 * unit_random - 1); unit_random in [0, 1].
double BackoffSeconds(const BackoffPolicy& policy, int retry, double unit_random);

// Whether retrying may help: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED.
bool IsTransient(const absl::Status& status);

}  // namespace lethe::worker
