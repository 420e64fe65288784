// Schema migrations: the numbered SQL files of migrations/ (compiled into the binary),
// applied in order under a PostgreSQL advisory lock so concurrent servers and workers
// starting together apply each exactly once. Each migration runs in its own transaction
// with its row in schema_migrations (version, name, sha256, applied_at); an applied file
// whose text changed is refused rather than silently skipped.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/logging.h"

namespace lethe {

struct Migration {
  int version;
  std::string name;  // file name without .sql, e.g. "0001_init"
  std::string sql;
};

// The migrations compiled into this binary, ascending by version.
const std::vector<Migration>& EmbeddedMigrations();

struct MigrationReport {
  int applied = 0;          // newly applied by this call
  int already_applied = 0;  // found in schema_migrations
  int latest_version = 0;
};

// Applies the pending migrations. FAILED_PRECONDITION when an applied migration's text
// changed, or the database has a version this binary does not know (it is newer).
absl::StatusOr<MigrationReport> ApplyMigrations(pqxx::connection& conn,
                                                const std::vector<Migration>& migrations,
                                                Logger* log);

// Number of migrations not yet applied (0 = up to date); errors as ApplyMigrations.
absl::StatusOr<int> PendingMigrations(pqxx::connection& conn,
                                      const std::vector<Migration>& migrations);

}  // namespace lethe
