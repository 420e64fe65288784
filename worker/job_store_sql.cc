#include "worker/job_store_sql.h"

#include "absl/strings/str_cat.h"
#include "common/pg_array.h"

namespace lethe::worker::job_sql {

std::vector<std::string> Column(const pqxx::result& r, int col) {
  std::vector<std::string> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(row[col].as<std::string>());
  return out;
}

bool FenceJob(pqxx::work& tx, const JobLease& lease, JobState to, const std::string& error,
              std::string* model, std::string* kind) {
  bool terminal = IsTerminal(to);
  pqxx::result r = tx.exec_params(
      "UPDATE jobs SET state = $3, error = NULLIF($4, ''), lease_owner = NULL, "
      "lease_expires_at = NULL, updated_at = now(), "
      "finished_at = CASE WHEN $5 THEN now() ELSE NULL END "
      "WHERE id = $1 AND attempt = $2 AND state = 'running' RETURNING model, kind",
      lease.job_id, lease.attempt, JobStateName(to), error, terminal);
  if (r.empty()) return false;
  if (model != nullptr) *model = r[0][0].as<std::string>();
  if (kind != nullptr) *kind = r[0][1].as<std::string>();
  return true;
}

int64_t DeleteImages(pqxx::work& tx, const std::vector<std::string>& request_ids) {
  if (request_ids.empty()) return 0;
  pqxx::result r = tx.exec_params(
      "UPDATE request_items SET image = NULL WHERE request_id = ANY($1::uuid[]) "
      "AND image IS NOT NULL",
      PgTextArray(request_ids));
  return int64_t(r.affected_rows());
}

std::vector<std::string> FinishRequests(pqxx::work& tx, const std::string& job_id, RequestState to,
                                        const Json& result, const std::string& extra_condition) {
  if (!CheckRequestTransition(RequestState::kRunning, to).ok()) return {};
  pqxx::result r = tx.exec_params(
      absl::StrCat("UPDATE forget_requests f SET state = $2, phase = NULL, result = $3::jsonb, "
                   "completed_at = now(), updated_at = now() FROM job_requests jr "
                   "WHERE jr.job_id = $1 AND f.id = jr.request_id AND f.state = 'running' ",
                   extra_condition, " RETURNING f.id"),
      job_id, RequestStateName(to), result.Dump());
  return Column(r, 0);
}

}  // namespace lethe::worker::job_sql
