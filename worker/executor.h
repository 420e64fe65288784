// The engine side of a job behind a small interface, so the job's life cycle (leases,
// retries, cancellation, publishing) is written once, free of LibTorch, and the binary
// plugs in the engine (worker/engine_executor.h).
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/base/cancel.h"
#include "worker/job_inputs.h"
#include "worker/progress.h"

namespace lethe::worker {

class JobExecutor {
 public:
  using ProgressFn = std::function<void(const ProgressUpdate&)>;
  virtual ~JobExecutor() = default;

  // Runs the job's engine work on the base version in `base_dir`, writing the new version
  // under `work_dir`. Returns CANCELLED when `cancel` stopped it (nothing was written
  // anywhere else), UNAVAILABLE for transient I/O problems, and another error for a job
  // that cannot succeed (bad inputs, engine errors).
  virtual absl::StatusOr<ExecutionResult> Execute(const JobInputs& inputs,
                                                  const std::string& base_dir,
                                                  const std::string& work_dir,
                                                  const ProgressFn& progress,
                                                  CancelToken* cancel) = 0;
};

}  // namespace lethe::worker
