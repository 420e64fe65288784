// What happens to a job once a worker holds its lease: heartbeats, progress, reading its
// inputs, and every way it ends (published, failed, cancelled, escalated to retraining,
// released), plus the purge of superseded versions. Claiming lives in job_claim.cc.
#include "worker/job_store.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/pg_array.h"
#include "common/status_macros.h"
#include "worker/job_store_sql.h"

namespace lethe::worker {
namespace {

using job_sql::Column;
using job_sql::DeleteImages;
using job_sql::FenceJob;
using job_sql::FinishRequests;

constexpr char kLeaseLostPayload[] = "lethe.worker/lease-lost";
// The channel lethe-server notifies when a request is queued; the worker notifies it too
// when it queues a job (follow-up, retraining, release) so an idle worker wakes up.
constexpr char kJobsChannel[] = "lethe_jobs";
// pg_try_advisory_xact_lock key of the purge loop ("lethe-purge").
constexpr int64_t kPurgeLockKey = 0x6c657468652d7075;

Json ParseOr(const std::string& text, Json fallback) {
  try {
    return Json::Parse(text);
  } catch (const std::exception&) {
    return fallback;
  }
}

// After a fence found nothing: true when this very attempt already moved the job to `to`
// (a retried transaction whose first commit succeeded but was reported as unknown).
bool AlreadyFinishedByUs(pqxx::work& tx, const JobLease& lease, JobState to) {
  pqxx::result r =
      tx.exec_params("SELECT 1 FROM jobs WHERE id = $1 AND attempt = $2 AND state = $3",
                     lease.job_id, lease.attempt, JobStateName(to));
  return !r.empty();
}

// A new queued job for `request_ids` (which stay running); returns its id.
std::string QueueFollowUpJob(pqxx::work& tx, const std::string& model, const std::string& kind,
                             int64_t max_attempts, const std::vector<std::string>& request_ids) {
  std::string id = tx.exec_params1(
                         "INSERT INTO jobs (model, kind, state, max_attempts) "
                         "VALUES ($1, $2, 'queued', $3) RETURNING id",
                         model, kind, max_attempts)[0]
                       .as<std::string>();
  tx.exec_params("INSERT INTO job_requests (job_id, request_id) SELECT $1, unnest($2::uuid[])", id,
                 PgTextArray(request_ids));
  tx.exec_params("SELECT pg_notify($1, $2)", kJobsChannel, model);
  return id;
}

int64_t MaxAttemptsOf(pqxx::work& tx, const std::string& job_id) {
  return tx.exec_params1("SELECT max_attempts FROM jobs WHERE id = $1", job_id)[0].as<int64_t>();
}

}  // namespace

absl::Status LeaseLostError(const JobLease& lease, const std::string& detail) {
  absl::Status s = absl::FailedPreconditionError(
      absl::StrCat("lease lost: job ", lease.job_id, " attempt ", lease.attempt,
                   " is no longer held by this worker (", detail, ")"));
  s.SetPayload(kLeaseLostPayload, absl::Cord("1"));
  return s;
}

bool IsLeaseLost(const absl::Status& status) {
  return status.GetPayload(kLeaseLostPayload).has_value();
}

JobStore::JobStore(DbPool* pool, std::string worker_id)
    : pool_(pool), worker_id_(std::move(worker_id)) {}

absl::StatusOr<HeartbeatResult> JobStore::Heartbeat(const JobLease& lease, double lease_seconds) {
  HeartbeatResult out;
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = tx.exec_params(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8), "
        "updated_at = now() WHERE id = $1 AND attempt = $2 AND state = 'running' "
        "RETURNING (SELECT coalesce(bool_or(f.cancel_requested), false) FROM job_requests jr "
        "           JOIN forget_requests f ON f.id = jr.request_id "
        "           WHERE jr.job_id = jobs.id AND f.state = 'running')",
        lease.job_id, lease.attempt, lease_seconds);
    out.lost = r.empty();
    out.cancel_requested = !r.empty() && r[0][0].as<bool>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status JobStore::WriteProgress(const JobLease& lease, Phase phase, const Json& progress) {
  return pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    std::string text = progress.Dump();
    pqxx::result r = tx.exec_params(
        "UPDATE jobs SET progress = $3::jsonb, updated_at = now() "
        "WHERE id = $1 AND attempt = $2 AND state = 'running'",
        lease.job_id, lease.attempt, text);
    if (r.affected_rows() == 0) return LeaseLostError(lease, "progress");
    if (phase == Phase::kNone) {
      tx.exec_params(
          "UPDATE forget_requests f SET progress = $2::jsonb, phase = NULL, updated_at = now() "
          "FROM job_requests jr WHERE jr.job_id = $1 AND f.id = jr.request_id "
          "AND f.state = 'running'",
          lease.job_id, text);
    } else {
      tx.exec_params(
          "UPDATE forget_requests f SET progress = $2::jsonb, phase = $3, updated_at = now() "
          "FROM job_requests jr WHERE jr.job_id = $1 AND f.id = jr.request_id "
          "AND f.state = 'running'",
          lease.job_id, text, PhaseName(phase));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<JobInputs> JobStore::LoadInputs(const JobLease& lease) {
  JobInputs in;
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    in = JobInputs{};
    in.lease = lease;
    pqxx::result job = tx.exec_params(
        "SELECT model, kind FROM jobs WHERE id = $1 AND attempt = $2 AND state = 'running' "
        "FOR UPDATE",
        lease.job_id, lease.attempt);
    if (job.empty()) return LeaseLostError(lease, "load");
    in.kind = job[0][1].as<std::string>();
    pqxx::result m = tx.exec_params(
        "SELECT name, num_classes, resolution, img_channels, item_width, item_height, "
        "item_channels, preset, dataset_name, dataset_fingerprint, config::text, "
        "production_version FROM models WHERE name = $1",
        job[0][0].as<std::string>());
    if (m.empty()) return absl::NotFoundError("the job's model is not registered");
    const auto& mr = m[0];
    ModelInfo& mi = in.model;
    mi.name = mr[0].as<std::string>();
    mi.num_classes = mr[1].as<int64_t>();
    mi.resolution = mr[2].as<int64_t>();
    mi.img_channels = mr[3].as<int64_t>();
    mi.item_width = mr[4].as<int64_t>();
    mi.item_height = mr[5].as<int64_t>();
    mi.item_channels = mr[6].as<int64_t>();
    mi.preset = mr[7].as<std::string>();
    mi.dataset_name = mr[8].as<std::string>();
    mi.dataset_fingerprint = mr[9].as<std::string>();
    mi.config = ParseOr(mr[10].as<std::string>(), Json::Object());
    if (mr[11].is_null()) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", mi.name, " has no production version"));
    }
    pqxx::result v = tx.exec_params(
        "SELECT id, sha256, uri, state FROM model_versions WHERE id = $1", mr[11].as<int64_t>());
    if (v.empty() || v[0][3].as<std::string>() != "active") {
      return absl::FailedPreconditionError(
          absl::StrCat("the production version of model ", mi.name, " is not active"));
    }
    in.base = {v[0][0].as<int64_t>(), v[0][1].as<std::string>(), v[0][2].as<std::string>()};
    tx.exec_params("UPDATE jobs SET base_version = $2 WHERE id = $1", lease.job_id, in.base.id);

    pqxx::result reqs = tx.exec_params(
        "SELECT f.id, f.kind, f.class_label, f.mode, f.substitute, f.params::text, "
        "f.cancel_requested FROM forget_requests f JOIN job_requests jr "
        "ON jr.request_id = f.id WHERE jr.job_id = $1 AND f.state = 'running' "
        "ORDER BY f.received_at, f.id",
        lease.job_id);
    std::map<std::string, size_t> index;
    for (const auto& row : reqs) {
      RequestInput r;
      r.id = row[0].as<std::string>();
      r.is_class = row[1].as<std::string>() == "class";
      r.class_label = row[2].is_null() ? -1 : row[2].as<int64_t>();
      r.mode = row[3].as<std::string>();
      r.substitute = row[4].as<std::string>();
      r.params = ParseOr(row[5].as<std::string>(), Json::Object());
      r.cancel_requested = row[6].as<bool>();
      index[r.id] = in.requests.size();
      in.requests.push_back(std::move(r));
    }
    if (in.requests.empty()) {
      return absl::FailedPreconditionError("the job has no running request");
    }
    std::vector<std::string> ids;
    for (const auto& r : in.requests) ids.push_back(r.id);
    pqxx::result items = tx.exec_params(
        "SELECT request_id, ordinal, item_id, sha256, coalesce(upload_name, ''), image "
        "FROM request_items WHERE request_id = ANY($1::uuid[]) ORDER BY request_id, ordinal",
        PgTextArray(ids));
    for (const auto& row : items) {
      RequestItemInput it;
      it.ordinal = row[1].as<int64_t>();
      if (!row[2].is_null()) it.item_id = row[2].as<std::string>();
      it.sha256 = row[3].as<std::string>();
      it.upload_name = row[4].as<std::string>();
      if (!row[5].is_null()) it.png = pqxx::binarystring(row[5]).str();
      in.requests[index[row[0].as<std::string>()]].items.push_back(std::move(it));
    }
    pqxx::result tomb = tx.exec_params(
        "SELECT item_id, sha256 FROM tombstones WHERE model = $1 ORDER BY id", mi.name);
    for (const auto& row : tomb) {
      TombstoneInput t;
      if (!row[0].is_null()) t.item_id = row[0].as<std::string>();
      t.sha256 = row[1].as<std::string>();
      in.tombstones.push_back(std::move(t));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return in;
}

absl::StatusOr<PublishResult> JobStore::Publish(const JobLease& lease, const PublishInput& input) {
  PublishResult out;
  const std::string actor = this->actor();
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    out = PublishResult{};
    RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kSucceeded));
    RETURN_IF_ERROR(CheckRequestTransition(RequestState::kRunning, RequestState::kCompleted));
    std::string model, kind;
    if (!FenceJob(tx, lease, JobState::kSucceeded, "", &model, &kind)) {
      pqxx::result done = tx.exec_params(
          "SELECT result_version FROM jobs WHERE id = $1 AND attempt = $2 "
          "AND state = 'succeeded'",
          lease.job_id, lease.attempt);
      if (!done.empty() && !done[0][0].is_null()) {
        out.version_id = done[0][0].as<int64_t>();  // our earlier commit went through
        return absl::OkStatus();
      }
      return LeaseLostError(lease, "publish");
    }
    // The alias must still point at the version this job started from.
    pqxx::result alias =
        tx.exec_params("SELECT production_version FROM models WHERE name = $1 FOR UPDATE", model);
    if (alias.empty() || alias[0][0].is_null() || alias[0][0].as<int64_t>() != input.base.id) {
      return absl::FailedPreconditionError(absl::StrCat("model ", model,
                                                        " no longer serves version ", input.base.id,
                                                        "; the job's result is stale"));
    }
    pqxx::result superseded = tx.exec_params(
        "UPDATE model_versions SET state = 'superseded', superseded_at = now() "
        "WHERE id = $1 AND state = 'active'",
        input.base.id);
    if (superseded.affected_rows() != 1) {
      return absl::FailedPreconditionError("the base version is no longer active");
    }
    out.version_id = tx.exec_params1(
                           "INSERT INTO model_versions (model, parent, sha256, uri, state, "
                           "files, metrics, job) VALUES ($1, $2, $3, $4, 'active', $5::jsonb, "
                           "$6::jsonb, $7) RETURNING id",
                           model, input.base.id, input.sha256, input.uri, input.files.Dump(),
                           input.metrics.Dump(), lease.job_id)[0]
                         .as<int64_t>();
    tx.exec_params(
        "UPDATE models SET production_version = $2 WHERE name = $1 AND production_version = $3",
        model, out.version_id, input.base.id);
    tx.exec_params("UPDATE jobs SET result_version = $2, progress = $3::jsonb WHERE id = $1",
                   lease.job_id, out.version_id, input.final_progress.Dump());

    Json result = Json::Object();
    result["model_version"] = out.version_id;
    result["model_version_sha256"] = input.sha256;
    result["report"] = input.report;
    out.completed_requests = FinishRequests(tx, lease.job_id, RequestState::kCompleted, result);
    if (out.completed_requests.empty()) {
      return absl::FailedPreconditionError("the job has no running request to complete");
    }
    pqxx::result done = tx.exec_params(
        "UPDATE forget_requests SET progress = $2::jsonb WHERE id = ANY($1::uuid[]) "
        "RETURNING extract(epoch FROM completed_at - received_at)",
        PgTextArray(out.completed_requests), input.final_progress.Dump());
    for (const auto& row : done) out.completion_seconds.push_back(row[0].as<double>());

    // Tombstones: every forgotten item, never again retained data.
    std::vector<std::optional<std::string>> item_ids;
    std::vector<std::string> hashes, requests;
    for (const ForgottenItem& f : input.forgotten) {
      item_ids.push_back(f.item_id);
      hashes.push_back(f.sha256);
      requests.push_back(f.request_id);
    }
    if (!input.forgotten.empty()) {
      pqxx::result added = tx.exec_params(
          "INSERT INTO tombstones (model, item_id, sha256, request_id) "
          "SELECT $1, t.item_id, t.sha256, t.request_id "
          "FROM unnest($2::text[], $3::text[], $4::uuid[]) AS t(item_id, sha256, request_id) "
          "ON CONFLICT (model, item_id) WHERE item_id IS NOT NULL DO NOTHING",
          model, PgTextArray(item_ids), PgTextArray(hashes), PgTextArray(requests));
      out.tombstones_added = int64_t(added.affected_rows());
    }
    out.images_deleted = DeleteImages(tx, out.completed_requests);

    // Audit records, last (they hold the audit head lock until commit).
    std::vector<AuditEntry> audit;
    std::map<std::string, int64_t> tombstones_per_request;
    for (const ForgottenItem& f : input.forgotten) ++tombstones_per_request[f.request_id];
    {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["kind"] = kind;
      p["metrics_before"] = input.metrics_before;
      p["metrics_after"] = input.metrics;
      p["destination"] = input.verdict;
      audit.push_back({actor, "job.evaluated", "", p});
    }
    {
      Json p = Json::Object();
      p["model"] = model;
      p["version"] = out.version_id;
      p["sha256"] = input.sha256;
      p["parent"] = input.base.id;
      p["parent_sha256"] = input.base.sha256;
      p["job"] = lease.job_id;
      p["requests"] = Json::ArrayOf(out.completed_requests);
      audit.push_back({actor, "model.version_published", "", p});
    }
    for (const std::string& rid : out.completed_requests) {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["model"] = model;
      p["version"] = out.version_id;
      p["sha256"] = input.sha256;
      p["destination_reached"] = input.verdict.GetBool("reached", kind == "retrain");
      p["destination"] = input.verdict;
      p["tombstones"] = tombstones_per_request[rid];
      p["uploaded_images_deleted"] = true;
      audit.push_back({actor, "request.completed", rid, p});
    }
    {
      Json p = Json::Object();
      p["model"] = model;
      p["job"] = lease.job_id;
      p["added"] = out.tombstones_added;
      p["forgotten"] = int64_t(input.forgotten.size());
      Json ids = Json::Array();
      for (size_t i = 0; i < input.forgotten.size() && i < 256; ++i) {
        ids.Push(input.forgotten[i].item_id ? Json(*input.forgotten[i].item_id) : Json());
      }
      p["item_ids_first_256"] = ids;
      audit.push_back({actor, "tombstones.added", "", p});
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status JobStore::FinishFailed(const JobLease& lease, const std::string& error,
                                    const Json& report) {
  const std::string actor = this->actor();
  return pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kFailed));
    if (!FenceJob(tx, lease, JobState::kFailed, error, nullptr, nullptr)) {
      if (AlreadyFinishedByUs(tx, lease, JobState::kFailed)) return absl::OkStatus();
      return LeaseLostError(lease, "fail");
    }
    Json result = Json::Object();
    result["error"] = error;
    if (!report.is_null()) result["report"] = report;
    std::vector<std::string> failed =
        FinishRequests(tx, lease.job_id, RequestState::kFailed, result);
    DeleteImages(tx, failed);
    std::vector<AuditEntry> audit;
    for (const std::string& rid : failed) {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["error"] = error;
      if (report.is_object() && report.Has("destination"))
        p["destination"] = report.at("destination");
      p["uploaded_images_deleted"] = true;
      audit.push_back({actor, "request.failed", rid, p});
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> JobStore::FinishCancelled(const JobLease& lease) {
  std::string follow_up;
  const std::string actor = this->actor();
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    follow_up.clear();
    RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kCancelled));
    std::string model, kind;
    if (!FenceJob(tx, lease, JobState::kCancelled, "cancelled on request", &model, &kind)) {
      if (AlreadyFinishedByUs(tx, lease, JobState::kCancelled)) return absl::OkStatus();
      return LeaseLostError(lease, "cancel");
    }
    Json result = Json::Object();
    result["error"] = "cancelled on request; the model was left unchanged";
    std::vector<std::string> cancelled = FinishRequests(tx, lease.job_id, RequestState::kCancelled,
                                                        result, "AND f.cancel_requested");
    DeleteImages(tx, cancelled);
    std::vector<std::string> rest = Column(
        tx.exec_params("SELECT f.id FROM forget_requests f JOIN job_requests jr "
                       "ON jr.request_id = f.id WHERE jr.job_id = $1 AND f.state = 'running' "
                       "ORDER BY f.received_at, f.id",
                       lease.job_id),
        0);
    std::vector<AuditEntry> audit;
    if (!rest.empty()) {
      follow_up = QueueFollowUpJob(tx, model, kind, MaxAttemptsOf(tx, lease.job_id), rest);
      Json progress = Json::Object();
      progress["message"] = "another request of the same job was cancelled; requeued";
      tx.exec_params(
          "UPDATE forget_requests SET phase = NULL, progress = $2::jsonb, updated_at = now() "
          "WHERE id = ANY($1::uuid[])",
          PgTextArray(rest), progress.Dump());
    }
    for (const std::string& rid : cancelled) {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["model_unchanged"] = true;
      p["uploaded_images_deleted"] = true;
      audit.push_back({actor, "request.cancelled", rid, p});
    }
    for (const std::string& rid : rest) {
      Json p = Json::Object();
      p["from_job"] = lease.job_id;
      p["job"] = follow_up;
      p["reason"] = "another request of the job was cancelled";
      audit.push_back({actor, "request.requeued", rid, p});
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return follow_up;
}

absl::StatusOr<std::string> JobStore::EscalateToRetrain(const JobLease& lease, const Json& report) {
  std::string retrain_job;
  const std::string actor = this->actor();
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kFailed));
    std::string model, kind;
    const std::string error =
        "destination not reached within the iteration budget; escalated to exact retraining";
    if (!FenceJob(tx, lease, JobState::kFailed, error, &model, &kind)) {
      return LeaseLostError(lease, "escalate");
    }
    tx.exec_params("UPDATE jobs SET progress = $2::jsonb WHERE id = $1", lease.job_id, [&] {
      Json p = Json::Object();
      p["message"] = error;
      p["report"] = report;
      return p.Dump();
    }());
    std::vector<std::string> ids = Column(
        tx.exec_params("SELECT f.id FROM forget_requests f JOIN job_requests jr "
                       "ON jr.request_id = f.id WHERE jr.job_id = $1 AND f.state = 'running' "
                       "ORDER BY f.received_at, f.id",
                       lease.job_id),
        0);
    if (ids.empty()) return absl::FailedPreconditionError("the job has no running request");
    retrain_job = QueueFollowUpJob(tx, model, "retrain", MaxAttemptsOf(tx, lease.job_id), ids);
    Json progress = Json::Object();
    progress["message"] = absl::StrCat("the destination was not reached; an exact retraining job (",
                                       retrain_job, ") will produce the new version");
    progress["metrics"] =
        report.is_object() && report.Has("destination") ? report.at("destination") : Json::Object();
    tx.exec_params(
        "UPDATE forget_requests SET phase = NULL, progress = $2::jsonb, updated_at = now() "
        "WHERE id = ANY($1::uuid[])",
        PgTextArray(ids), progress.Dump());
    std::vector<AuditEntry> audit;
    for (const std::string& rid : ids) {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["retrain_job"] = retrain_job;
      p["destination_reached"] = false;
      if (report.is_object() && report.Has("destination"))
        p["destination"] = report.at("destination");
      audit.push_back({actor, "request.escalated", rid, p});
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return retrain_job;
}

absl::Status JobStore::Release(const JobLease& lease, const std::string& reason) {
  const std::string actor = this->actor();
  return pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckJobTransition(JobState::kRunning, JobState::kQueued));
    std::string model, kind;
    if (!FenceJob(tx, lease, JobState::kQueued, "", &model, &kind)) {
      if (AlreadyFinishedByUs(tx, lease, JobState::kQueued)) return absl::OkStatus();
      return LeaseLostError(lease, "release");
    }
    Json progress = Json::Object();
    progress["message"] =
        absl::StrCat("released by ", worker_id_, " (", reason, "); waiting for a worker");
    pqxx::result ids = tx.exec_params(
        "UPDATE forget_requests f SET phase = NULL, progress = $2::jsonb, updated_at = now() "
        "FROM job_requests jr WHERE jr.job_id = $1 AND f.id = jr.request_id "
        "AND f.state = 'running' RETURNING f.id",
        lease.job_id, progress.Dump());
    tx.exec_params("SELECT pg_notify($1, $2)", kJobsChannel, model);
    std::vector<AuditEntry> audit;
    for (const std::string& rid : Column(ids, 0)) {
      Json p = Json::Object();
      p["job"] = lease.job_id;
      p["attempt"] = lease.attempt;
      p["reason"] = reason;
      audit.push_back({actor, "job.released", rid, p});
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> JobStore::PurgeSuperseded(
    double grace_seconds, const std::function<absl::Status(const std::string& uri)>& remove) {
  int64_t purged = 0;
  const std::string actor = this->actor();
  absl::Status status = pool_->Transact([&](pqxx::work& tx) -> absl::Status {
    purged = 0;
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kPurgeLockKey)[0].as<bool>()) {
      return absl::OkStatus();  // another worker is purging
    }
    pqxx::result due = tx.exec_params(
        "SELECT id, model, uri, sha256, "
        "to_char(superseded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
        "FROM model_versions WHERE state = 'superseded' "
        "AND superseded_at <= now() - make_interval(secs => $1::float8) "
        "ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED",
        grace_seconds);
    std::vector<AuditEntry> audit;
    for (const auto& row : due) {
      int64_t id = row[0].as<int64_t>();
      std::string uri = row[2].as<std::string>();
      // Files first: a row never says "purged" while its files still exist.
      absl::Status removed = remove(uri);
      if (!removed.ok()) return removed;
      tx.exec_params(
          "UPDATE model_versions SET state = 'purged', purged_at = now() "
          "WHERE id = $1 AND state = 'superseded'",
          id);
      Json p = Json::Object();
      p["model"] = row[1].as<std::string>();
      p["version"] = id;
      p["sha256"] = row[3].as<std::string>();
      p["uri"] = uri;
      p["superseded_at"] = row[4].as<std::string>();
      p["grace_seconds"] = grace_seconds;
      p["reason"] = "superseded by a version that forgot data this one still held";
      audit.push_back({actor, "model.version_purged", "", p});
      ++purged;
    }
    AppendAuditBatch(tx, audit);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return purged;
}

}  // namespace lethe::worker
