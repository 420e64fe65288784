// SQL steps that both the claim path (worker/job_claim.cc) and the lease lifecycle
// (worker/job_store.cc) of JobStore take: fencing a claimed job, finishing its running
// requests and deleting their uploaded images. Internal to those files; each step runs
// inside the caller's transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/db.h"
#include "engine/base/json.h"
#include "worker/job_inputs.h"
#include "worker/state_machine.h"

namespace lethe::worker::job_sql {

// Column `col` of every row, as text.
std::vector<std::string> Column(const pqxx::result& r, int col);

// Moves a claimed job out of `running` if (and only if) this lease still holds it.
// Returns false when zero rows matched: the job is no longer ours.
bool FenceJob(pqxx::work& tx, const JobLease& lease, JobState to, const std::string& error,
              std::string* model, std::string* kind);

// Deletes uploaded image bytes of the given requests; returns how many were deleted.
int64_t DeleteImages(pqxx::work& tx, const std::vector<std::string>& request_ids);

// Running requests of a job moved to a terminal state (checked by the state machine,
// conditioned on state = 'running'); returns their ids.
std::vector<std::string> FinishRequests(pqxx::work& tx, const std::string& job_id, RequestState to,
                                        const Json& result,
                                        const std::string& extra_condition = "");

}  // namespace lethe::worker::job_sql
