// How a worker claims its next job (JobStore::ClaimNext): one transaction that takes over
// a running job whose lease expired, else starts a queued job, else forms a new job from
// the oldest queued requests of a free model. What happens to a job once claimed is in
// job_store.cc.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/pg_array.h"
#include "common/status_macros.h"
#include "worker/coalesce.h"
#include "worker/job_store.h"
#include "worker/job_store_sql.h"

namespace lethe::worker {
namespace {

using job_sql::Column;
using job_sql::DeleteImages;
using job_sql::FenceJob;
using job_sql::FinishRequests;

std::string Canonical(const std::string& json_text) {
  try {
    return Json::Parse(json_text).Dump();
  } catch (const std::exception&) {
    return json_text;
  }
}

}  // namespace

// A running job whose lease expired, locked by the claim transaction.
struct JobStore::ExpiredJob {
  JobLease lease;  // the expired attempt
  std::string model;
  std::string kind;
  int64_t max_attempts = 0;
  std::string previous_owner;  // "" when the row names none
  std::vector<std::string> request_ids;
  // A lease last renewed before PostgreSQL (re)started and still valid at that moment
  // expired because the database was away, not because its worker died: it does not
  // count towards giving up.
  bool expired_in_outage = false;
};

// A queued job (follow-up, retraining, released) locked by the claim transaction.
struct JobStore::QueuedJob {
  std::string id;
  std::string model;
  std::string kind;
};

// The requests a new job would take (PlanBatch over the model's queued requests) and how
// long each of them has waited, in the same order.
struct JobStore::NewJobPlan {
  Batch batch;
  std::vector<double> wait_seconds;
};

absl::StatusOr<ClaimResult> JobStore::ClaimNext(const ClaimOptions& options) {
  ClaimResult result;
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    result = ClaimResult{};

    // 1. A running job whose lease expired: take it over, unless its workers died too
    //    often; then it fails instead and the caller may claim again at once.
    if (std::optional<ExpiredJob> expired = LockExpiredJob(tx)) {
      if (expired->lease.attempt >= expired->max_attempts && !expired->expired_in_outage) {
        RETURN_IF_ERROR(FailAbandonedJob(tx, *expired));
        result.look_again = true;
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(result.job, TakeOverExpiredJob(tx, *expired, options.lease_seconds));
      return absl::OkStatus();
    }

    // 2. A queued job (follow-up, retraining, released) on a model with nothing running.
    if (std::optional<QueuedJob> queued = LockQueuedJob(tx)) {
      ASSIGN_OR_RETURN(result.job, ClaimQueuedJob(tx, *queued, options.lease_seconds));
      return absl::OkStatus();
    }

    // 3. A new job from the oldest queued requests of a model with no job; when no model
    //    waits, report when the earliest running lease expires.
    std::optional<std::string> model = LockOldestWaitingModel(tx);
    if (!model.has_value()) {
      result.next_lease_expiry_seconds = NextLeaseExpirySeconds(tx);
      return absl::OkStatus();
    }
    NewJobPlan plan = PlanNewJob(tx, *model, options.max_batch_items);
    if (plan.batch.request_ids.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(result.job, StartNewJob(tx, *model, plan, options));
    return absl::OkStatus();
  });
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    // Another worker started a job on the same model at the same moment
    // (jobs_one_running_per_model): other models may still have work.
    ClaimResult again;
    again.look_again = true;
    return again;
  }
  if (!status.ok()) return status;
  return result;
}

std::optional<JobStore::ExpiredJob> JobStore::LockExpiredJob(pqxx::work& tx) {
  pqxx::result expired = tx.exec(
      "SELECT id, model, kind, attempt, max_attempts, lease_owner, "
      "       updated_at < pg_postmaster_start_time() AND "
      "       lease_expires_at >= pg_postmaster_start_time() FROM jobs "
      "WHERE state = 'running' AND lease_expires_at < now() "
      "ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED");
  if (expired.empty()) return std::nullopt;
  const auto& row = expired[0];
  ExpiredJob job;
  job.lease = {row[0].as<std::string>(), row[3].as<int64_t>()};
  job.model = row[1].as<std::string>();
  job.kind = row[2].as<std::string>();
  job.max_attempts = row[4].as<int64_t>();
  job.previous_owner = row[5].is_null() ? "" : row[5].as<std::string>();
  job.request_ids =
      Column(tx.exec_params("SELECT request_id FROM job_requests WHERE job_id = $1 ORDER BY 1",
                            job.lease.job_id),
             0);
  job.expired_in_outage = !row[6].is_null() && row[6].as<bool>();
  return job;
}

absl::Status JobStore::FailAbandonedJob(pqxx::work& tx, const ExpiredJob& expired) const {
  const JobLease& old = expired.lease;
  std::string error = absl::StrCat("the job's worker stopped renewing its lease ", old.attempt,
                                   " times (last: ", expired.previous_owner, "); giving up");
  RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kFailed));
  FenceJob(tx, old, JobState::kFailed, error, nullptr, nullptr);
  Json res = Json::Object();
  res["error"] = error;
  std::vector<std::string> failed = FinishRequests(tx, old.job_id, RequestState::kFailed, res);
  DeleteImages(tx, failed);
  std::vector<AuditEntry> audit;
  for (const std::string& id : failed) {
    Json p = Json::Object();
    p["job"] = old.job_id;
    p["attempt"] = old.attempt;
    p["error"] = error;
    audit.push_back({actor(), "request.failed", id, p});
  }
  AppendAuditBatch(tx, audit);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ClaimedJob>> JobStore::TakeOverExpiredJob(pqxx::work& tx,
                                                                       const ExpiredJob& expired,
                                                                       double lease_seconds) const {
  const JobLease& old = expired.lease;
  RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kRunning));
  pqxx::result taken = tx.exec_params(
      "UPDATE jobs SET attempt = attempt + 1, lease_owner = $3, "
      "lease_expires_at = now() + make_interval(secs => $4::float8), progress = '{}', "
      "updated_at = now() WHERE id = $1 AND attempt = $2 AND state = 'running' "
      "RETURNING attempt",
      old.job_id, old.attempt, worker_id_, lease_seconds);
  if (taken.empty()) return std::optional<ClaimedJob>();
  ClaimedJob job;
  job.lease = {old.job_id, taken[0][0].as<int64_t>()};
  job.model = expired.model;
  job.kind = expired.kind;
  job.takeover = true;
  job.previous_owner = expired.previous_owner;
  job.request_ids = expired.request_ids;
  Json progress = Json::Object();
  progress["message"] = absl::StrCat("restarted by ", worker_id_, " (attempt ", job.lease.attempt,
                                     ") after the lease of ", expired.previous_owner, " expired");
  tx.exec_params(
      "UPDATE forget_requests f SET phase = NULL, progress = $2::jsonb, updated_at = now() "
      "FROM job_requests jr WHERE jr.job_id = $1 AND f.id = jr.request_id "
      "AND f.state = 'running'",
      job.lease.job_id, progress.Dump());
  std::vector<AuditEntry> audit;
  for (const std::string& id : expired.request_ids) {
    Json p = Json::Object();
    p["job"] = job.lease.job_id;
    p["attempt"] = job.lease.attempt;
    p["worker"] = worker_id_;
    p["takeover"] = true;
    p["previous_owner"] = expired.previous_owner;
    audit.push_back({actor(), "job.claimed", id, p});
  }
  AppendAuditBatch(tx, audit);
  return std::optional<ClaimedJob>(std::move(job));
}

std::optional<JobStore::QueuedJob> JobStore::LockQueuedJob(pqxx::work& tx) {
  pqxx::result queued = tx.exec(
      "SELECT j.id, j.model, j.kind, j.attempt FROM jobs j WHERE j.state = 'queued' "
      "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.model = j.model AND r.state = 'running') "
      "ORDER BY j.created_at, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED");
  if (queued.empty()) return std::nullopt;
  const auto& row = queued[0];
  return QueuedJob{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()};
}

absl::StatusOr<std::optional<ClaimedJob>> JobStore::ClaimQueuedJob(pqxx::work& tx,
                                                                   const QueuedJob& queued,
                                                                   double lease_seconds) const {
  RETURN_IF_ERROR(CheckJobTransition(JobState::kQueued, JobState::kRunning));
  pqxx::result claimed = tx.exec_params(
      "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = $2, "
      "lease_expires_at = now() + make_interval(secs => $3::float8), progress = '{}', "
      "started_at = coalesce(started_at, now()), updated_at = now(), "
      "base_version = (SELECT production_version FROM models m WHERE m.name = jobs.model) "
      "WHERE id = $1 AND state = 'queued' RETURNING attempt",
      queued.id, worker_id_, lease_seconds);
  if (claimed.empty()) return std::optional<ClaimedJob>();
  ClaimedJob job;
  job.lease = {queued.id, claimed[0][0].as<int64_t>()};
  job.model = queued.model;
  job.kind = queued.kind;
  job.request_ids = Column(
      tx.exec_params("SELECT request_id FROM job_requests WHERE job_id = $1 ORDER BY 1", queued.id),
      0);
  std::vector<AuditEntry> audit;
  for (const std::string& rid : job.request_ids) {
    Json p = Json::Object();
    p["job"] = queued.id;
    p["attempt"] = job.lease.attempt;
    p["worker"] = worker_id_;
    p["kind"] = job.kind;
    audit.push_back({actor(), "job.claimed", rid, p});
  }
  AppendAuditBatch(tx, audit);
  return std::optional<ClaimedJob>(std::move(job));
}

std::optional<std::string> JobStore::LockOldestWaitingModel(pqxx::work& tx) {
  pqxx::result oldest = tx.exec(
      "SELECT f.model FROM forget_requests f WHERE f.state = 'queued' "
      "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.model = f.model "
      "                AND j.state IN ('running', 'queued')) "
      "ORDER BY f.received_at, f.id LIMIT 1 FOR UPDATE SKIP LOCKED");
  if (oldest.empty()) return std::nullopt;
  return oldest[0][0].as<std::string>();
}

double JobStore::NextLeaseExpirySeconds(pqxx::work& tx) {
  pqxx::result next = tx.exec(
      "SELECT extract(epoch FROM min(lease_expires_at) - clock_timestamp()) FROM jobs "
      "WHERE state = 'running'");
  if (next.empty() || next[0][0].is_null()) return -1;
  return std::max(0.0, next[0][0].as<double>());
}

JobStore::NewJobPlan JobStore::PlanNewJob(pqxx::work& tx, const std::string& model,
                                          int64_t max_batch_items) {
  pqxx::result candidates = tx.exec_params(
      "SELECT f.id, f.kind, f.mode, f.substitute, f.params::text, "
      "(SELECT count(*) FROM request_items ri WHERE ri.request_id = f.id), "
      "extract(epoch FROM clock_timestamp() - f.received_at) "
      "FROM forget_requests f WHERE f.state = 'queued' AND f.model = $1 "
      "ORDER BY f.received_at, f.id LIMIT 10000 FOR UPDATE SKIP LOCKED",
      model);
  std::vector<QueuedRequest> queue;
  std::map<std::string, double> waits;
  for (const auto& row : candidates) {
    QueuedRequest q;
    q.id = row[0].as<std::string>();
    q.is_class = row[1].as<std::string>() == "class";
    q.settings = SettingsKey(row[2].as<std::string>(), row[3].as<std::string>(),
                             Canonical(row[4].as<std::string>()));
    q.items = std::max<int64_t>(1, row[5].as<int64_t>());
    waits[q.id] = row[6].as<double>();
    queue.push_back(std::move(q));
  }
  NewJobPlan plan;
  plan.batch = PlanBatch(queue, max_batch_items);
  for (const std::string& rid : plan.batch.request_ids) plan.wait_seconds.push_back(waits[rid]);
  return plan;
}

absl::StatusOr<ClaimedJob> JobStore::StartNewJob(pqxx::work& tx, const std::string& model,
                                                 const NewJobPlan& plan,
                                                 const ClaimOptions& options) const {
  const Batch& batch = plan.batch;
  RETURN_IF_ERROR(CheckJobTransition(JobState::kQueued, JobState::kRunning));
  RETURN_IF_ERROR(CheckRequestTransition(RequestState::kQueued, RequestState::kRunning));
  std::string job_id =
      tx.exec_params1(
            "INSERT INTO jobs (model, kind, state, attempt, max_attempts, lease_owner, "
            "lease_expires_at, base_version, started_at) "
            "VALUES ($1, 'unlearn', 'running', 1, $2, $3, "
            "now() + make_interval(secs => $4::float8), "
            "(SELECT production_version FROM models WHERE name = $1), now()) RETURNING id",
            model, options.max_attempts, worker_id_, options.lease_seconds)[0]
          .as<std::string>();
  std::string ids = PgTextArray(batch.request_ids);
  tx.exec_params("INSERT INTO job_requests (job_id, request_id) SELECT $1, unnest($2::uuid[])",
                 job_id, ids);
  pqxx::result moved = tx.exec_params(
      "UPDATE forget_requests SET state = 'running', phase = NULL, progress = '{}', "
      "updated_at = now() WHERE id = ANY($1::uuid[]) AND state = 'queued' RETURNING id",
      ids);
  if (moved.size() != batch.request_ids.size()) {
    return absl::AbortedError("queued requests changed while a job was formed");
  }
  ClaimedJob job;
  job.lease = {job_id, 1};
  job.model = model;
  job.kind = "unlearn";
  job.request_ids = batch.request_ids;
  job.wait_seconds = plan.wait_seconds;
  std::vector<AuditEntry> audit;
  for (const std::string& rid : batch.request_ids) {
    Json p = Json::Object();
    p["job"] = job_id;
    p["attempt"] = int64_t(1);
    p["worker"] = worker_id_;
    p["kind"] = "unlearn";
    p["coalesced_requests"] = int64_t(batch.request_ids.size());
    p["batch_items"] = batch.items;
    audit.push_back({actor(), "job.claimed", rid, p});
  }
  AppendAuditBatch(tx, audit);
  return job;
}

}  // namespace lethe::worker
