// The worker's SQL: claiming jobs (FOR UPDATE SKIP LOCKED), renewing leases, progress,
// and every way a job ends. PostgreSQL is the coordination engine: row locks pick who
// works on what, the unique index jobs_one_running_per_model keeps jobs on one model
// serial, and every write that changes a claimed job is FENCED by its attempt number
// (`WHERE id = $1 AND attempt = $2 AND state = 'running'`). A worker whose lease expired
// and was taken over finds zero rows there and gets LeaseLost: it changes nothing.
//
// Each finishing call is one transaction that moves the job, its requests and the audit
// log together; state changes are checked against worker/state_machine.h and conditioned
// on the "from" state.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db.h"
#include "engine/base/json.h"
#include "worker/job_inputs.h"
#include "worker/state_machine.h"

namespace lethe::worker {

// The status of a fenced write that found the job no longer ours (FAILED_PRECONDITION with
// a payload, so it is never mistaken for a transient error and retried).
absl::Status LeaseLostError(const JobLease& lease, const std::string& detail);
bool IsLeaseLost(const absl::Status& status);

struct ClaimOptions {
  double lease_seconds = 60;
  int64_t max_batch_items = 1024;
  int64_t max_attempts = 3;
};

struct ClaimedJob {
  JobLease lease;
  std::string model;
  std::string kind;  // unlearn | retrain
  bool takeover = false;
  std::string previous_owner;  // takeover: whose lease expired
  std::vector<std::string> request_ids;
  // Fresh jobs: seconds from each request's receipt to this claim (queueing latency).
  std::vector<double> wait_seconds;
};

struct ClaimResult {
  std::optional<ClaimedJob> job;
  // Nothing claimed, but claiming again at once may succeed: a job whose workers died too
  // often was failed instead, or another worker won a race for the same model.
  bool look_again = false;
  // Seconds until the earliest running lease expires (a takeover may then be possible);
  // negative when no job is running.
  double next_lease_expiry_seconds = -1;
};

struct HeartbeatResult {
  bool lost = false;              // the job is no longer ours
  bool cancel_requested = false;  // some request of the job asked to be cancelled
};

// The new version and everything the publishing transaction records.
struct PublishInput {
  VersionInfo base;
  std::string sha256;  // of the new manifest.json
  std::string uri;     // model store key
  Json files = Json::Object();
  Json metrics = Json::Object();
  Json report = Json::Object();
  Json verdict = Json::Object();
  Json metrics_before = Json::Object();
  std::vector<ForgottenItem> forgotten;
  Json final_progress = Json::Object();
};

struct PublishResult {
  int64_t version_id = 0;
  int64_t tombstones_added = 0;
  int64_t images_deleted = 0;
  std::vector<std::string> completed_requests;
  std::vector<double> completion_seconds;  // receipt -> completion, per completed request
};

class JobStore {
 public:
  // `actor` is how this worker appears in the audit log ("worker:<id>").
  JobStore(DbPool* pool, std::string worker_id);

  const std::string& worker_id() const { return worker_id_; }
  std::string actor() const { return "worker:" + worker_id_; }

  // One claim transaction, in priority order: a running job whose lease expired
  // (takeover, attempt + 1), a queued job on a model with nothing running, or a new job
  // formed from the oldest queued requests of a free model (coalesced, PlanBatch).
  absl::StatusOr<ClaimResult> ClaimNext(const ClaimOptions& options);

  // Renews the lease and reports whether cancellation was asked for.
  absl::StatusOr<HeartbeatResult> Heartbeat(const JobLease& lease, double lease_seconds);

  // Writes progress to the job row and its running requests (phase NULL for kNone).
  absl::Status WriteProgress(const JobLease& lease, Phase phase, const Json& progress);

  // Reads what the job works on (its running requests with their items and uploaded
  // images, the model, its production version, every tombstone of the model) and records
  // the production version as the job's base. LeaseLost when the job is no longer ours.
  absl::StatusOr<JobInputs> LoadInputs(const JobLease& lease);

  // The destination was reached: in ONE fenced transaction, inserts the new version,
  // moves the production alias, supersedes the base, completes the requests, adds the
  // tombstones, deletes uploaded image bytes and appends the audit records.
  absl::StatusOr<PublishResult> Publish(const JobLease& lease, const PublishInput& input);

  // The job failed: its requests fail with `error` and the report (may be null), their
  // uploaded images are deleted.
  absl::Status FinishFailed(const JobLease& lease, const std::string& error, const Json& report);

  // Cancellation: requests that asked for it are cancelled (images deleted); the job's
  // other requests move to a new queued job. Returns the new job's id ("" if none).
  absl::StatusOr<std::string> FinishCancelled(const JobLease& lease);

  // The destination was missed and the policy is to retrain: this job fails and a queued
  // retraining job takes over its requests. Returns the retraining job's id.
  absl::StatusOr<std::string> EscalateToRetrain(const JobLease& lease, const Json& report);

  // Graceful shutdown: the job goes back to the queue for another worker.
  absl::Status Release(const JobLease& lease, const std::string& reason);

  // Purges superseded versions older than the grace period: `remove` deletes the files
  // (from the model store) before the row is marked purged; audited. Only one worker
  // purges at a time (advisory lock); returns the number purged (0 if another worker
  // holds the lock).
  absl::StatusOr<int64_t> PurgeSuperseded(
      double grace_seconds, const std::function<absl::Status(const std::string& uri)>& remove);

 private:
  // What one claim step found and locked, for the next step (defined in job_claim.cc).
  struct ExpiredJob;
  struct QueuedJob;
  struct NewJobPlan;

  // The steps of ClaimNext, each inside its one transaction, in the order it runs them.
  // 1. Takeover: lock the running job whose lease expired first (with its requests); fail
  //    it when its workers died too often, otherwise take it over as attempt + 1 (nullopt
  //    when its attempt changed meanwhile).
  static std::optional<ExpiredJob> LockExpiredJob(pqxx::work& tx);
  absl::Status FailAbandonedJob(pqxx::work& tx, const ExpiredJob& expired) const;
  absl::StatusOr<std::optional<ClaimedJob>> TakeOverExpiredJob(pqxx::work& tx,
                                                               const ExpiredJob& expired,
                                                               double lease_seconds) const;
  // 2. Lock the oldest queued job on a model with nothing running and start it (nullopt
  //    when it left the queue meanwhile).
  static std::optional<QueuedJob> LockQueuedJob(pqxx::work& tx);
  absl::StatusOr<std::optional<ClaimedJob>> ClaimQueuedJob(pqxx::work& tx, const QueuedJob& queued,
                                                           double lease_seconds) const;
  // 3. Lock the model of the oldest queued request among models with no job (else report
  //    when the earliest running lease expires, -1 if none runs), plan a batch of its
  //    queued requests and start a new job for them.
  static std::optional<std::string> LockOldestWaitingModel(pqxx::work& tx);
  static double NextLeaseExpirySeconds(pqxx::work& tx);
  static NewJobPlan PlanNewJob(pqxx::work& tx, const std::string& model, int64_t max_batch_items);
  absl::StatusOr<ClaimedJob> StartNewJob(pqxx::work& tx, const std::string& model,
                                         const NewJobPlan& plan, const ClaimOptions& options) const;

  DbPool* pool_;
  std::string worker_id_;
};

}  // namespace lethe::worker
