// The live view of `lethectl watch`: one line per update, with a bar when the output is a
// terminal. The ETA extrapolates the rate observed since the current phase began, because
// the server reports progress per phase (inverting, unlearning, evaluating, publishing).
#pragma once

#include <optional>
#include <string>

#include "lethe/v1/unlearning.pb.h"

namespace lethe::cli {

class EtaEstimator {
 public:
  // Records the fraction done of `phase` at time `now` (seconds, any monotonic origin).
  // A new phase (or a fraction that went backwards) restarts the estimate.
  void Observe(lethe::v1::Phase phase, double fraction, double now);
  // Seconds until the current phase ends; nullopt until two observations show progress.
  std::optional<double> SecondsLeft() const;

 private:
  bool started_ = false;
  lethe::v1::Phase phase_ = lethe::v1::PHASE_UNSPECIFIED;
  double first_fraction_ = 0, first_time_ = 0;
  double last_fraction_ = 0, last_time_ = 0;
};

// "[#########-----------]" with `width` cells inside the brackets; fraction clamped to [0,1].
std::string ProgressBar(double fraction, int width);

// One status line of a request, e.g.
//   "running unlearning [#####-----] 48% iteration 480/1000 auc_u=0.74 ETA 1m05s"
//   "completed: version 7 (sha256 0123456789ab)"
//   "failed: destination not reached after 2000 iterations"
// bar_width 0 leaves out the bar (plain output for logs and pipes).
std::string FormatWatchLine(const lethe::v1::ForgetRequest& request, std::optional<double> eta,
                            int bar_width);

}  // namespace lethe::cli
