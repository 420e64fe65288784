// The worker's loops: claim a job and run it; when there is none, sleep until lethe-server
// notifies (LISTEN lethe_jobs), a lease may have expired, or the poll interval passes. A
// background thread purges superseded versions after the grace period. Stop() (SIGTERM)
// stops claiming, cancels the running engine at its next iteration and hands the job
// back to the queue; a job already publishing finishes publishing first.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/logging.h"
#include "common/model_store.h"
#include "common/worker_metrics.h"
#include "worker/job_listener.h"
#include "worker/job_runner.h"
#include "worker/job_store.h"
#include "worker/orphan_sweep.h"
#include "worker/worker_config.h"

namespace lethe::worker {

class Worker {
 public:
  Worker(const WorkerConfig& config, JobStore* store, ModelStore* models, JobRunner* runner,
         JobListener* listener, Logger* log, WorkerMetrics* metrics);
  ~Worker();

  // Runs until Stop(); returns the number of jobs run.
  int64_t Run();
  // Thread-safe; idempotent.
  void Stop();

  // One purge pass (also run by the background thread); returns versions purged.
  absl::StatusOr<int64_t> PurgeOnce();
  // Sweeps orphans (worker/orphan_sweep.h) at start and after every purge pass, with the
  // purge grace period. Set before Run().
  void set_orphan_sweeper(OrphanSweeper* sweeper) { sweeper_ = sweeper; }

 private:
  void PurgeLoop();
  void Sleep(double seconds);

  WorkerConfig config_;
  JobStore* store_;
  ModelStore* models_;
  JobRunner* runner_;
  JobListener* listener_;
  Logger* log_;
  WorkerMetrics* metrics_;
  OrphanSweeper* sweeper_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread purge_thread_;
};

}  // namespace lethe::worker
