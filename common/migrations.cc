#include "common/migrations.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

// pg_advisory_lock key: "lethe-migrate" as an arbitrary fixed 64-bit number.
constexpr int64_t kMigrationLockKey = 0x6c657468656d6967;  // "lethemig"

void EnsureTable(pqxx::connection& conn) {
  pqxx::work tx(conn);
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  tx.commit();
}

// version -> (name, sha256) of the applied migrations.
std::map<int, std::pair<std::string, std::string>> Applied(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  std::map<int, std::pair<std::string, std::string>> out;
  for (const auto& row : tx.exec("SELECT version, name, sha256 FROM schema_migrations")) {
    out[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return out;
}

absl::Status CheckConsistent(const std::map<int, std::pair<std::string, std::string>>& applied,
                             const std::vector<Migration>& migrations) {
  std::map<int, const Migration*> known;
  for (const Migration& m : migrations) known[m.version] = &m;
  for (const auto& [version, info] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return absl::FailedPreconditionError(absl::StrCat("database has migration ", info.first,
                                                        " which this binary does not know; it was "
                                                        "migrated by a newer version of Lethe"));
    }
    if (Sha256Hex(it->second->sql) != info.second) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", it->second->name, " changed after it was applied (sha256 ",
          info.second.substr(0, 12), "... in the database); add a new migration instead"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> PendingMigrations(pqxx::connection& conn,
                                      const std::vector<Migration>& migrations) {
  try {
    pqxx::read_transaction tx(conn);
    auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    tx.commit();
    if (!exists) return int(migrations.size());
    auto applied = Applied(conn);
    absl::Status s = CheckConsistent(applied, migrations);
    if (!s.ok()) return s;
    int pending = 0;
    for (const Migration& m : migrations) pending += applied.count(m.version) ? 0 : 1;
    return pending;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "check migrations");
  }
}

absl::StatusOr<MigrationReport> ApplyMigrations(pqxx::connection& conn,
                                                const std::vector<Migration>& migrations,
                                                Logger* log) {
  MigrationReport report;
  bool locked = false;
  try {
    {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
      locked = true;
    }
    EnsureTable(conn);
    auto applied = Applied(conn);
    absl::Status s = CheckConsistent(applied, migrations);
    if (s.ok()) {
      for (const Migration& m : migrations) {
        report.latest_version = std::max(report.latest_version, m.version);
        if (applied.count(m.version)) {
          ++report.already_applied;
          continue;
        }
        pqxx::work tx(conn);
        tx.exec(m.sql);
        tx.exec_params("INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                       m.version, m.name, Sha256Hex(m.sql));
        tx.commit();
        ++report.applied;
        if (log) log->Info("migration applied", {{"migration", m.name}});
      }
    }
    {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
    }
    if (!s.ok()) return s;
    return report;
  } catch (const std::exception& e) {
    absl::Status status = StatusFromDbException(e, "apply migrations");
    if (locked && conn.is_open()) {
      try {
        pqxx::nontransaction tx(conn);
        tx.exec("SELECT pg_advisory_unlock_all()");
      } catch (const std::exception&) {
      }
    }
    return status;
  }
}

}  // namespace lethe
