#include "worker/orphan_sweep.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/base/file_util.h"

namespace lethe::worker {

namespace {
constexpr char kWorkDirPrefix[] = "lethe-job-";
}  // namespace

std::string WorkDirAttempt(const std::string& name) {
  if (name.rfind(kWorkDirPrefix, 0) != 0) return "";
  std::string rest = name.substr(sizeof(kWorkDirPrefix) - 1);
  size_t dash = rest.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == rest.size()) return "";
  for (size_t i = dash + 1; i < rest.size(); ++i) {
    if (rest[i] < '0' || rest[i] > '9') return "";
  }
  return rest;
}

OrphanPlan PlanOrphanSweep(const std::vector<StoreEntry>& store,
                           const std::vector<WorkDirEntry>& work_dirs, const LiveSet& live,
                           double grace_seconds) {
  OrphanPlan plan;
  for (const StoreEntry& e : store) {
    if (e.age_seconds < grace_seconds) continue;
    if (!e.temporary && live.version_uris.count(e.key)) continue;
    plan.store.push_back(e);
  }
  for (const WorkDirEntry& w : work_dirs) {
    std::string attempt = WorkDirAttempt(w.name);
    if (attempt.empty() || w.age_seconds < grace_seconds) continue;
    if (live.running_attempts.count(attempt)) continue;
    plan.work_dirs.push_back(w.name);
  }
  return plan;
}

absl::StatusOr<LiveSet> OrphanSweeper::ReadLiveSet() {
  ASSIGN_OR_RETURN(auto lease, db_->Acquire());
  LiveSet live;
  try {
    pqxx::nontransaction tx(lease.conn());
    for (const auto& row : tx.exec("SELECT uri FROM model_versions WHERE state <> 'purged'")) {
      live.version_uris.insert(row[0].as<std::string>());
    }
    for (const auto& row :
         tx.exec("SELECT id::text || '-' || attempt FROM jobs WHERE state = 'running'")) {
      live.running_attempts.insert(row[0].as<std::string>());
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "read live versions and jobs");
  }
  return live;
}

absl::StatusOr<SweepCounts> OrphanSweeper::SweepOnce(double grace_seconds) {
  // List first, then read the database: a version committed in between is kept.
  ASSIGN_OR_RETURN(std::vector<StoreEntry> entries, store_->ListEntries());
  std::vector<WorkDirEntry> work_dirs;
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& d : std::filesystem::directory_iterator(work_root_, ec)) {
    std::string name = d.path().filename().string();
    if (WorkDirAttempt(name).empty()) continue;
    auto mtime = d.last_write_time(ec);
    if (ec) continue;
    work_dirs.push_back({name, std::chrono::duration<double>(now - mtime).count()});
  }
  ASSIGN_OR_RETURN(LiveSet live, ReadLiveSet());
  OrphanPlan plan = PlanOrphanSweep(entries, work_dirs, live, grace_seconds);
  SweepCounts counts;
  for (const StoreEntry& e : plan.store) {
    absl::Status removed = store_->RemoveEntry(e);
    if (!removed.ok()) {
      log_->Warn("cannot remove an orphan from the model store",
                 {{"key", e.key}, {"error", std::string(removed.message())}});
      continue;
    }
    ++(e.temporary ? counts.temporaries : counts.versions);
    log_->Info("removed an orphan from the model store",
               {{"key", e.key},
                {"kind", e.temporary ? "temporary" : "version without a database row"},
                {"age_seconds", e.age_seconds}});
  }
  for (const std::string& name : plan.work_dirs) {
    std::string path = JoinPath(work_root_, name);
    std::filesystem::remove_all(path, ec);
    if (ec) {
      log_->Warn("cannot remove an orphaned work directory",
                 {{"path", path}, {"error", ec.message()}});
      continue;
    }
    ++counts.work_dirs;
    log_->Info("removed an orphaned work directory", {{"path", path}});
  }
  return counts;
}

}  // namespace lethe::worker
