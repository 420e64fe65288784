// Removes what a killed worker leaves behind that no purge would ever find, because the
// database does not know it: a version directory renamed into the store whose row was
// never committed, temporaries of interrupted writes (".tmp-*"), and per-attempt work
// directories ("lethe-job-<job>-<attempt>") holding generator and discriminator weights.
// They predate later forget requests, so they may hold data since forgotten. The worker
// sweeps at start and with every purge. Anything younger than the grace period is kept
// (a publish in flight renames first and commits a moment later), as is every version
// the database knows and has not purged, and the work directory of every running attempt
// (another worker on this host may be using it).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/model_store.h"

namespace lethe::worker {

// A directory under the work root.
struct WorkDirEntry {
  std::string name;  // "lethe-job-<job>-<attempt>"
  double age_seconds = 0;
};

// What the database says must stay.
struct LiveSet {
  std::set<std::string> version_uris;      // versions not purged
  std::set<std::string> running_attempts;  // "<job_id>-<attempt>" of running jobs
};

struct OrphanPlan {
  std::vector<StoreEntry> store;       // versions and temporaries to remove
  std::vector<std::string> work_dirs;  // names under the work root to remove
};

// Pure decision. Entries must be listed before `live` is read, so a version committed in
// between is kept.
OrphanPlan PlanOrphanSweep(const std::vector<StoreEntry>& store,
                           const std::vector<WorkDirEntry>& work_dirs, const LiveSet& live,
                           double grace_seconds);

// "lethe-job-<job>-<attempt>" -> "<job>-<attempt>"; "" for other names.
std::string WorkDirAttempt(const std::string& name);

struct SweepCounts {
  int64_t versions = 0;
  int64_t temporaries = 0;
  int64_t work_dirs = 0;
};

class OrphanSweeper {
 public:
  OrphanSweeper(DbPool* db, ModelStore* store, std::string work_root, Logger* log)
      : db_(db), store_(store), work_root_(std::move(work_root)), log_(log) {}

  absl::StatusOr<SweepCounts> SweepOnce(double grace_seconds);

 private:
  absl::StatusOr<LiveSet> ReadLiveSet();

  DbPool* db_;
  ModelStore* store_;
  std::string work_root_;
  Logger* log_;
};

}  // namespace lethe::worker
