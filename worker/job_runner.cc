#include "worker/job_runner.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "worker/lease_keeper.h"

namespace lethe::worker {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Json JsonOf(const std::vector<std::string>& v) { return Json::ArrayOf(v); }

// Marks a failure of a PostgreSQL call, so that a job whose retries ran out while the
// database was away is handed back to the queue (requests outlive outages) while a failing
// engine or model store fails the requests with the error.
constexpr char kDatabasePayload[] = "type.lethe/worker.database";
absl::Status FromDatabase(absl::Status status) {
  if (!status.ok()) status.SetPayload(kDatabasePayload, absl::Cord("1"));
  return status;
}
bool IsFromDatabase(const absl::Status& status) {
  return status.GetPayload(kDatabasePayload).has_value();
}

double MetricOr(const Json& metrics, const std::string& name) {
  if (!metrics.is_object() || !metrics.Has(name) || !metrics.at(name).is_number()) return -1;
  return metrics.at(name).AsDouble();
}

}  // namespace

JobRunner::JobRunner(JobStore* store, ModelStore* models, JobExecutor* executor, Logger* log,
                     WorkerMetrics* metrics, RunnerOptions options)
    : store_(store),
      models_(models),
      executor_(executor),
      log_(log),
      metrics_(metrics),
      options_(std::move(options)) {}

LogFields JobRunner::Fields(const ClaimedJob& job) const {
  return {{"job_id", job.lease.job_id},
          {"attempt", job.lease.attempt},
          {"model", job.model},
          {"request_ids", JsonOf(job.request_ids)}};
}

void JobRunner::RequestShutdown() {
  shutdown_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (current_ != nullptr) current_->Cancel();
  cv_.notify_all();
}

void JobRunner::SleepInterruptibly(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return shutdown_.load(); });
}

absl::Status JobRunner::Retry(const std::string& what, const std::function<absl::Status()>& fn) {
  for (int retry = 0;; ++retry) {
    absl::Status s = fn();
    if (s.ok() || !IsTransient(s) || IsLeaseLost(s) || retry >= options_.backoff.max_retries) {
      return s;
    }
    double delay = BackoffSeconds(options_.backoff, retry, Unit());
    log_->Warn("transient failure, retrying",
               {{"operation", what}, {"error", std::string(s.message())}, {"delay_s", delay}});
    if (metrics_ != nullptr) metrics_->TransientRetry();
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

std::string JobRunner::Run(const ClaimedJob& job) {
  const auto started = Clock::now();
  if (metrics_ != nullptr) {
    metrics_->SetBusy(true);
    for (double w : job.wait_seconds) metrics_->ClaimWait(w);
  }
  LogFields fields = Fields(job);
  {
    LogFields f = fields;
    f.push_back({"kind", job.kind});
    f.push_back({"takeover", job.takeover});
    if (job.takeover) f.push_back({"previous_owner", job.previous_owner});
    log_->Info("job claimed", f);
  }

  CancelToken token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = &token;
    if (shutdown_) token.Cancel();
  }
  LeaseKeeper keeper([&] { return store_->Heartbeat(job.lease, options_.lease_seconds); },
                     options_.heartbeat_seconds, options_.lease_seconds, &token,
                     [&](const absl::StatusOr<HeartbeatResult>& beat) {
                       if (!beat.ok()) {
                         log_->Warn("lease renewal failed",
                                    {{"job_id", job.lease.job_id},
                                     {"error", std::string(beat.status().message())}});
                         return;
                       }
                       if (beat->lost) {
                         log_->Warn("lease lost to another worker", fields);
                         return;
                       }
                       if (metrics_ != nullptr) metrics_->LeaseRenewed(UnixNow());
                       if (beat->cancel_requested) log_->Info("cancellation requested", fields);
                     });
  keeper.Start();

  std::string outcome;
  for (int retry = 0;; ++retry) {
    absl::Status s = Attempt(job, token, keeper, &outcome);
    if (s.ok()) break;
    if (IsLeaseLost(s) || keeper.lost()) {
      outcome = "lease_lost";
      LogFields f = fields;
      f.push_back({"error", std::string(s.message())});
      log_->Warn("job abandoned: another worker holds it now; nothing was written", f);
      break;
    }
    if (IsTransient(s) && retry < options_.backoff.max_retries && !shutdown_) {
      double delay = BackoffSeconds(options_.backoff, retry, Unit());
      LogFields f = fields;
      f.push_back({"error", std::string(s.message())});
      f.push_back({"retry_in_s", delay});
      log_->Warn("transient failure; retrying the job", f);
      if (metrics_ != nullptr) metrics_->TransientRetry();
      SleepInterruptibly(delay);
      continue;
    }
    if (IsTransient(s) && IsFromDatabase(s) && !shutdown_) {
      absl::Status r =
          Retry("release", [&] { return store_->Release(job.lease, "database unavailable"); });
      outcome = r.ok() ? "released" : "lease_lost";
      LogFields f = fields;
      f.push_back({"error", std::string(s.message())});
      log_->Warn(r.ok() ? "database unavailable for too long; job released to the queue"
                        : "database unavailable for too long; the job's lease will expire",
                 f);
      break;
    }
    if (IsTransient(s) && shutdown_) {
      absl::Status r = Retry("release", [&] { return store_->Release(job.lease, "shutdown"); });
      outcome = r.ok() ? "released" : "lease_lost";
      break;
    }
    // Permanent (or retries exhausted): the requests fail with the error.
    std::string error = std::string(s.message());
    absl::Status f = Retry("fail", [&] { return store_->FinishFailed(job.lease, error, Json()); });
    LogFields lf = fields;
    lf.push_back({"error", error});
    if (!f.ok()) {
      lf.push_back({"fail_error", std::string(f.message())});
      log_->Error("job failed and could not be recorded; its lease will expire", lf);
      outcome = IsLeaseLost(f) ? "lease_lost" : "failed";
    } else {
      log_->Error("job failed", lf);
      outcome = "failed";
    }
    break;
  }
  keeper.Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = nullptr;
  }
  if (metrics_ != nullptr) {
    metrics_->JobFinished(outcome);
    if (outcome == "lease_lost") metrics_->LeaseLost();
    metrics_->JobDuration(Since(started));
    metrics_->SetBusy(false);
  }
  LogFields f = fields;
  f.push_back({"outcome", outcome});
  f.push_back({"seconds", Since(started)});
  log_->Info("job finished", f);
  return outcome;
}

absl::Status JobRunner::Attempt(const ClaimedJob& job, CancelToken& token,
                                const LeaseKeeper& keeper, std::string* outcome) {
  LogFields fields = Fields(job);
  absl::StatusOr<JobInputs> inputs = store_->LoadInputs(job.lease);
  if (!inputs.ok()) return FromDatabase(inputs.status());
  bool any_cancel = false;
  for (const RequestInput& r : inputs->requests) any_cancel = any_cancel || r.cancel_requested;
  if (any_cancel) {
    absl::StatusOr<std::string> follow = store_->FinishCancelled(job.lease);
    if (!follow.ok()) return FromDatabase(follow.status());
    *outcome = "cancelled";
    log_->Info("job cancelled before it started", fields);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> base_dir = models_->LocalDirectory(inputs->base.uri);
  if (!base_dir.ok()) return base_dir.status();

  std::string work =
      JoinPath(options_.work_dir.empty() ? std::filesystem::temp_directory_path().string()
                                         : options_.work_dir,
               absl::StrCat("lethe-job-", job.lease.job_id, "-", job.lease.attempt));
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  std::filesystem::create_directories(work, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", work, ": ", ec.message()));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(dir, e);
    }
  } cleanup{work};

  ProgressReporter reporter(
      [&](Phase phase, const Json& progress) {
        return store_->WriteProgress(job.lease, phase, progress);
      },
      options_.progress_interval_seconds);
  JobExecutor::ProgressFn on_progress = [&](const ProgressUpdate& update) {
    const int64_t writes_before = reporter.writes();
    absl::Status s = reporter.Report(update);
    if (s.ok() && reporter.writes() != writes_before) {
      log_->Debug("progress written", {{"job_id", job.lease.job_id},
                                       {"phase", PhaseName(update.phase)},
                                       {"iteration", update.iteration}});
    }
    if (IsLeaseLost(s)) {
      token.Cancel();
    } else if (!s.ok()) {
      log_->Debug("progress not written",
                  {{"job_id", job.lease.job_id}, {"error", std::string(s.message())}});
    }
  };

  absl::StatusOr<ExecutionResult> result =
      executor_->Execute(*inputs, *base_dir, work, on_progress, &token);
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kCancelled) return result.status();
    if (keeper.lost()) return LeaseLostError(job.lease, "lost while running");
    if (keeper.cancel_requested()) {
      absl::StatusOr<std::string> follow;
      absl::Status s = Retry("cancel", [&] {
        follow = store_->FinishCancelled(job.lease);
        return follow.status();
      });
      if (!s.ok()) return FromDatabase(s);
      *outcome = "cancelled";
      LogFields f = fields;
      f.push_back({"follow_up_job", *follow});
      log_->Info("job cancelled on request; the model is unchanged", f);
      return absl::OkStatus();
    }
    // Shutdown (or a stop with no recorded reason): hand the job back.
    absl::Status s = Retry("release", [&] {
      return store_->Release(job.lease, shutdown_ ? "worker shutting down" : "stopped");
    });
    if (!s.ok()) return FromDatabase(s);
    *outcome = "released";
    log_->Info("job released to the queue", fields);
    return absl::OkStatus();
  }
  for (const auto& [phase, seconds] : result->phase_seconds) {
    if (metrics_ != nullptr) metrics_->PhaseDuration(phase, seconds);
  }
  if (metrics_ != nullptr) {
    metrics_->Iterations(result->iterations);
    metrics_->LastDestination(
        MetricOr(result->metrics_after, "auc_u"), MetricOr(result->metrics_after, "logan_auc"),
        MetricOr(result->metrics_after, "fd_u"), MetricOr(result->metrics_after, "fd_l"),
        MetricOr(result->metrics_before, "fd_l"));
  }

  if (!result->destination_reached) {
    LogFields f = fields;
    f.push_back({"destination", result->verdict});
    if (inputs->kind != "retrain" && options_.miss_policy == DestinationMissPolicy::kRetrain) {
      absl::StatusOr<std::string> retrain;
      absl::Status s = Retry("escalate", [&] {
        retrain = store_->EscalateToRetrain(job.lease, result->report);
        return retrain.status();
      });
      if (!s.ok()) return FromDatabase(s);
      *outcome = "escalated";
      f.push_back({"retrain_job", *retrain});
      log_->Warn("destination not reached; escalated to exact retraining", f);
      return absl::OkStatus();
    }
    std::string error = inputs->kind == "retrain"
                            ? "retraining did not produce a model"
                            : "destination not reached within the iteration budget (policy: fail)";
    absl::Status s =
        Retry("fail", [&] { return store_->FinishFailed(job.lease, error, result->report); });
    if (!s.ok()) return FromDatabase(s);
    *outcome = "failed";
    log_->Warn("destination not reached; requests failed with the report", f);
    return absl::OkStatus();
  }

  // Publish: files first (content-addressed, invisible until a row points at them), then
  // the one fenced transaction.
  auto t_publish = Clock::now();
  ProgressUpdate publishing;
  publishing.phase = Phase::kPublishing;
  publishing.iteration = result->iterations;
  publishing.budget = result->iterations;
  publishing.message = "publishing the new model version";
  absl::Status ps = reporter.Report(publishing, true);
  if (IsLeaseLost(ps)) return ps;
  absl::StatusOr<std::string> key;
  absl::Status put = Retry("store", [&] {
    key = models_->PutVersion(job.model, result->digest, result->version_dir, result->files);
    if (!key.ok() && key.status().code() == absl::StatusCode::kInternal) {
      return absl::UnavailableError(key.status().message());  // disk I/O: retry
    }
    return key.status();
  });
  if (!put.ok()) return put;

  PublishInput in;
  in.base = inputs->base;
  in.sha256 = result->digest;
  in.uri = *key;
  Json files = Json::Object();
  for (const auto& [name, sha] : result->files) files[name] = sha;
  in.files = files;
  in.metrics = result->metrics_after;
  in.metrics_before = result->metrics_before;
  in.report = result->report;
  in.verdict = result->verdict;
  in.forgotten = result->forgotten;
  ProgressUpdate done = publishing;
  done.message = "published";
  for (const auto& [name, value] : result->metrics_after.items()) {
    if (value.is_number()) done.metrics[name] = value.AsDouble();
  }
  in.final_progress = done.ToJson();
  absl::StatusOr<PublishResult> published;
  absl::Status s = Retry("publish", [&] {
    published = store_->Publish(job.lease, in);
    return published.status();
  });
  if (!s.ok()) return FromDatabase(s);
  if (metrics_ != nullptr) {
    metrics_->PhaseDuration("publishing", Since(t_publish));
    metrics_->Published();
    for (double seconds : published->completion_seconds) metrics_->RequestCompleted(seconds);
  }
  *outcome = "published";
  LogFields f = fields;
  f.push_back({"version", published->version_id});
  f.push_back({"sha256", result->digest});
  f.push_back({"tombstones_added", published->tombstones_added});
  f.push_back({"images_deleted", published->images_deleted});
  log_->Info("model version published", f);
  return absl::OkStatus();
}

}  // namespace lethe::worker
