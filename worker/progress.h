// Progress of a running job, as stored on the job row and on each of its requests
// (forget_requests.progress, which WatchForgetRequest streams):
//   {"phase": "unlearning", "fraction": 0.4, "iteration": 80, "iteration_budget": 200,
//    "eta_seconds": 12.5, "metrics": {"auc_u": 0.71}, "message": "..."}
// Writes are throttled (at most one per interval, phase changes always written) so a fast
// cascade does not turn into a stream of UPDATEs, and phases only move forward
// (worker/state_machine.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "engine/base/json.h"
#include "worker/state_machine.h"

namespace lethe::worker {

struct ProgressUpdate {
  Phase phase = Phase::kNone;
  int64_t iteration = 0;
  int64_t budget = 0;       // iterations (or steps) of the phase; 0 = unknown
  double eta_seconds = -1;  // < 0: unknown
  std::map<std::string, double> metrics;
  std::string message;

  Json ToJson() const;  // the stored form (above); fraction = iteration / budget
};

// Decides which updates are written: the first, every phase change, forced ones, and
// otherwise at most one per `min_interval_seconds`. Pure (time is passed in).
class ProgressThrottle {
 public:
  explicit ProgressThrottle(double min_interval_seconds) : interval_(min_interval_seconds) {}
  bool ShouldWrite(double now_seconds, Phase phase, bool force);

 private:
  double interval_;
  bool any_ = false;
  double last_ = 0;
  Phase phase_ = Phase::kNone;
};

// Turns updates into throttled writes. A rejected phase transition is not written (the
// state machine says why); write errors are returned to the caller, which decides whether
// a lost lease stops the job.
class ProgressReporter {
 public:
  using Writer = std::function<absl::Status(Phase, const Json&)>;
  using Clock = std::function<double()>;  // seconds, monotonic

  ProgressReporter(Writer writer, double min_interval_seconds, Clock clock = nullptr);

  // Returns the write's status (OK when throttled away).
  absl::Status Report(const ProgressUpdate& update, bool force = false);
  Phase phase() const { return phase_; }
  int64_t writes() const { return writes_; }

 private:
  Writer writer_;
  ProgressThrottle throttle_;
  Clock clock_;
  Phase phase_ = Phase::kNone;
  int64_t writes_ = 0;
};

}  // namespace lethe::worker
