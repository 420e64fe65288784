#include "worker/worker.h"

#include <chrono>
#include <random>

#include "worker/backoff.h"

namespace lethe::worker {

Worker::Worker(const WorkerConfig& config, JobStore* store, ModelStore* models, JobRunner* runner,
               JobListener* listener, Logger* log, WorkerMetrics* metrics)
    : config_(config),
      store_(store),
      models_(models),
      runner_(runner),
      listener_(listener),
      log_(log),
      metrics_(metrics) {}

Worker::~Worker() {
  Stop();
  if (purge_thread_.joinable()) purge_thread_.join();
}

void Worker::Stop() {
  if (stop_.exchange(true)) return;
  log_->Info("stopping: no new jobs; a running job is cancelled and released");
  runner_->RequestShutdown();
  listener_->Interrupt();
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void Worker::Sleep(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stop_.load(); });
}

absl::StatusOr<int64_t> Worker::PurgeOnce() {
  absl::StatusOr<int64_t> purged = store_->PurgeSuperseded(
      config_.purge_grace_seconds,
      [this](const std::string& uri) { return models_->RemoveVersion(uri); });
  if (purged.ok() && *purged > 0) {
    if (metrics_ != nullptr) metrics_->Purged(*purged);
    log_->Info("purged superseded model versions",
               {{"versions", *purged}, {"grace_seconds", config_.purge_grace_seconds}});
  }
  return purged;
}

void Worker::PurgeLoop() {
  while (!stop_) {
    absl::StatusOr<int64_t> purged = PurgeOnce();
    if (!purged.ok()) {
      log_->Warn("purge failed; will retry", {{"error", std::string(purged.status().message())}});
    }
    if (sweeper_ != nullptr && !stop_) {
      absl::StatusOr<SweepCounts> swept = sweeper_->SweepOnce(config_.purge_grace_seconds);
      if (!swept.ok()) {
        log_->Warn("orphan sweep failed; will retry",
                   {{"error", std::string(swept.status().message())}});
      }
    }
    Sleep(config_.purge_interval_seconds);
  }
}

int64_t Worker::Run() {
  BackoffPolicy backoff;
  backoff.initial_seconds = config_.retry_initial_seconds;
  backoff.max_seconds = config_.retry_max_seconds;
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  absl::Status listening = listener_->Connect();
  if (!listening.ok()) {
    log_->Warn("cannot listen for notifications; polling",
               {{"error", std::string(listening.message())}});
  }
  purge_thread_ = std::thread([this] { PurgeLoop(); });
  log_->Info("worker started", {{"worker_id", store_->worker_id()},
                                {"poll_seconds", config_.poll_seconds},
                                {"lease_seconds", config_.lease_seconds}});
  ClaimOptions claim;
  claim.lease_seconds = config_.lease_seconds;
  claim.max_batch_items = config_.max_batch_items;
  claim.max_attempts = config_.max_attempts;
  int64_t jobs = 0;
  int failures = 0;
  while (!stop_) {
    absl::StatusOr<ClaimResult> result = store_->ClaimNext(claim);
    if (!result.ok()) {
      double delay = BackoffSeconds(backoff, failures++, unit(rng));
      log_->Warn("cannot claim jobs; retrying",
                 {{"error", std::string(result.status().message())}, {"retry_in_s", delay}});
      if (metrics_ != nullptr) metrics_->TransientRetry();
      Sleep(delay);
      continue;
    }
    failures = 0;
    if (metrics_ != nullptr) {
      metrics_->DatabaseContact(
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count());
    }
    if (result->job) {
      runner_->Run(*result->job);
      ++jobs;
      continue;
    }
    if (result->look_again) continue;
    double wait = config_.poll_seconds;
    if (result->next_lease_expiry_seconds >= 0) {
      wait = std::min(wait, result->next_lease_expiry_seconds + 0.05);
    }
    listener_->Wait(wait);
  }
  if (purge_thread_.joinable()) purge_thread_.join();
  log_->Info("worker stopped", {{"jobs", jobs}});
  return jobs;
}

}  // namespace lethe::worker
