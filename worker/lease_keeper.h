// Keeps a claimed job's lease alive from a background thread while the engine runs, and
// turns what the heartbeat learns into a cancellation of the run:
//   - the lease was lost (another worker took the job over): stop, change nothing;
//   - a request of the job asked to be cancelled (forget_requests.cancel_requested);
//   - the database was unreachable for longer than the lease: assume it was lost.
// The engine checks the CancelToken once per iteration.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "engine/base/cancel.h"
#include "worker/job_inputs.h"
#include "worker/job_store.h"

namespace lethe::worker {

class LeaseKeeper {
 public:
  using HeartbeatFn = std::function<absl::StatusOr<HeartbeatResult>()>;
  // Called after every heartbeat (ok = renewed), e.g. for metrics and logs.
  using ObserverFn = std::function<void(const absl::StatusOr<HeartbeatResult>&)>;

  LeaseKeeper(HeartbeatFn heartbeat, double heartbeat_seconds, double lease_seconds,
              CancelToken* cancel, ObserverFn observer = nullptr);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  void Start();
  void Stop();  // joins the thread; idempotent

  bool lost() const { return lost_.load(); }
  bool cancel_requested() const { return cancel_requested_.load(); }

 private:
  void Loop();

  HeartbeatFn heartbeat_;
  std::chrono::duration<double> interval_;
  std::chrono::duration<double> lease_;
  CancelToken* cancel_;
  ObserverFn observer_;
  std::atomic<bool> lost_{false};
  std::atomic<bool> cancel_requested_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lethe::worker
