// PostgreSQL access for the service processes: a small fixed-size connection pool
// (mutex + condition variable) and a transaction runner that turns libpqxx exceptions
// into absl::Status. Nothing here waits forever: connections carry connect_timeout and a
// statement_timeout, and acquiring a connection has a deadline. PostgreSQL restarts are
// survived without restarting the process: an idle connection the server closed is
// replaced when it is next acquired, a transaction whose connection broke before its
// commit runs again on a new one, and what cannot be retried (PostgreSQL down, the
// connection lost during a commit) fails with UNAVAILABLE.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lethe {

struct DbOptions {
  std::string url;  // libpq URL or key=value conninfo
  int pool_size = 8;
  int connect_timeout_s = 5;
  int statement_timeout_ms = 15000;
  int acquire_timeout_ms = 5000;
  std::string application_name = "lethe";
};

// `url` with connect_timeout, application_name and TCP keepalive / user-timeout settings
// added unless already present.
std::string ConninfoWithDefaults(const std::string& url, int connect_timeout_s,
                                 const std::string& application_name);

// Maps a libpqxx/libpq exception to a status: lost connection / cannot connect ->
// UNAVAILABLE, statement or lock timeout -> DEADLINE_EXCEEDED, serialization failure or
// deadlock -> ABORTED, unique violation -> ALREADY_EXISTS, commit outcome unknown ->
// UNAVAILABLE, other SQL errors -> INTERNAL. `what` prefixes the message.
absl::Status StatusFromDbException(const std::exception& e, const std::string& what);

// Opens one connection with the options' timeouts applied (used by the pool and by
// one-off tools such as `lethe-server migrate`).
absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const DbOptions& options);

class DbPool {
 public:
  // Called once for every new connection (e.g. to declare prepared statements).
  using ConnectionInit = std::function<void(pqxx::connection&)>;

  // Opens one connection eagerly so a wrong URL fails at start; the rest open on demand.
  static absl::StatusOr<std::unique_ptr<DbPool>> Create(const DbOptions& options,
                                                        ConnectionInit init = nullptr);
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  // A borrowed connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(DbPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& conn() { return *conn_; }
    // Drops the connection instead of returning it (after an error that may have left
    // it in an unknown state).
    void Discard() { discard_ = true; }

   private:
    DbPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool discard_ = false;
  };

  // Waits until a connection is free, at most until `deadline` (and never longer than
  // acquire_timeout_ms). UNAVAILABLE when the pool stays exhausted or the database
  // cannot be reached.
  absl::StatusOr<Lease> Acquire(
      std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt);

  struct TxnOptions {
    // The caller's deadline; statements get SET LOCAL statement_timeout when it is
    // closer than the pool's statement_timeout_ms.
    std::optional<std::chrono::system_clock::time_point> deadline;
    // Retries on serialization failures/deadlocks (the function must be re-runnable).
    int max_retries = 2;
  };

  // Runs `fn` in one transaction and commits when it returns OK; any error (returned or
  // thrown) rolls back. The reply may be sent once this returns OK: the commit is done.
  absl::Status Transact(const TxnOptions& options,
                        const std::function<absl::Status(pqxx::work&)>& fn);
  absl::Status Transact(const std::function<absl::Status(pqxx::work&)>& fn) {
    return Transact(TxnOptions{}, fn);
  }

  const DbOptions& options() const { return options_; }
  int open_connections() const;

 private:
  DbPool(DbOptions options, ConnectionInit init);
  void Return(std::unique_ptr<pqxx::connection> conn, bool discard);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Open();

  DbOptions options_;
  ConnectionInit init_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;  // idle + leased
};

}  // namespace lethe
