// Runs one claimed job to its end: keeps the lease alive, loads the inputs, runs the
// engine, and finishes the job in exactly one way (published, failed, cancelled,
// escalated to retraining, released on shutdown), retrying transient failures with capped
// exponential backoff. When the retries run out because PostgreSQL stayed unreachable, the
// job is released to the queue instead of failing its requests (an outage is not the
// requests' fault). A lost lease ends the job here without any write: the worker that
// took it over finishes it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "common/logging.h"
#include "common/model_store.h"
#include "common/worker_metrics.h"
#include "worker/backoff.h"
#include "worker/executor.h"
#include "worker/job_store.h"
#include "worker/worker_config.h"

namespace lethe::worker {

class LeaseKeeper;

struct RunnerOptions {
  double lease_seconds = 60;
  double heartbeat_seconds = 10;
  double progress_interval_seconds = 0.5;
  DestinationMissPolicy miss_policy = DestinationMissPolicy::kRetrain;
  BackoffPolicy backoff;
  std::string work_dir;  // scratch parent directory
};

class JobRunner {
 public:
  JobRunner(JobStore* store, ModelStore* models, JobExecutor* executor, Logger* log,
            WorkerMetrics* metrics, RunnerOptions options);

  // Returns the outcome: one of kWorkerJobOutcomes ("published", "lease_lost", ...).
  std::string Run(const ClaimedJob& job);

  // Graceful shutdown: the running engine stops at its next iteration and the job is
  // released to the queue (a job already publishing finishes publishing).
  void RequestShutdown();
  bool shutting_down() const { return shutdown_.load(); }

 private:
  absl::Status Attempt(const ClaimedJob& job, CancelToken& token, const LeaseKeeper& keeper,
                       std::string* outcome);
  // Retries a database/model-store call while it fails transiently.
  absl::Status Retry(const std::string& what, const std::function<absl::Status()>& fn);
  void SleepInterruptibly(double seconds);
  LogFields Fields(const ClaimedJob& job) const;

  JobStore* store_;
  ModelStore* models_;
  JobExecutor* executor_;
  Logger* log_;
  WorkerMetrics* metrics_;
  RunnerOptions options_;
  std::atomic<bool> shutdown_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  CancelToken* current_ = nullptr;
};

}  // namespace lethe::worker
