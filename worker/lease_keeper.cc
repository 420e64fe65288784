#include "worker/lease_keeper.h"

namespace lethe::worker {

LeaseKeeper::LeaseKeeper(HeartbeatFn heartbeat, double heartbeat_seconds, double lease_seconds,
                         CancelToken* cancel, ObserverFn observer)
    : heartbeat_(std::move(heartbeat)),
      interval_(heartbeat_seconds),
      lease_(lease_seconds),
      cancel_(cancel),
      observer_(std::move(observer)) {}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::Loop() {
  using Clock = std::chrono::steady_clock;
  auto last_renewal = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    absl::StatusOr<HeartbeatResult> beat = heartbeat_();
    if (observer_) observer_(beat);
    if (beat.ok()) {
      if (beat->lost) {
        lost_ = true;
      } else {
        last_renewal = Clock::now();
      }
      if (beat->cancel_requested) cancel_requested_ = true;
    } else if (Clock::now() - last_renewal > lease_) {
      lost_ = true;  // unrenewed for a whole lease: another worker may have the job now
    }
    if ((lost_ || cancel_requested_) && cancel_ != nullptr) cancel_->Cancel();
    lock.lock();
    if (lost_) break;
  }
}

}  // namespace lethe::worker
