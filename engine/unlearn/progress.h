// Progress of an unlearning run, reported to a callback (the CLI prints it, the worker
// stores it on the job) so that a long request is observable and its ETA known.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace lethe::unlearn {

enum class Phase { kInverting, kUnlearning, kEvaluating };
std::string PhaseName(Phase phase);  // "inverting" / "unlearning" / "evaluating"

struct Progress {
  Phase phase = Phase::kUnlearning;
  int64_t iteration = 0;  // inversion: steps done; cascade: iterations done
  int64_t total = 0;      // inversion: steps; cascade: the iteration budget
  double auc_u = -1;      // latest measurement, -1 before the first
  double logan_auc = -1;
  double fd_u = -1;        // class requests
  double seconds = 0;      // since the run started
  double eta_seconds = 0;  // upper bound: until the budget runs out at the current pace
};

using ProgressFn = std::function<void(const Progress&)>;

}  // namespace lethe::unlearn
