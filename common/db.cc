#include "common/db.h"

#include <poll.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lethe {

std::string ConninfoWithDefaults(const std::string& url, int connect_timeout_s,
                                 const std::string& application_name) {
  std::string out = url;
  bool is_uri = absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
  auto add = [&](const std::string& key, const std::string& value) {
    if (absl::StrContains(out, key + "=")) return;
    if (is_uri) {
      out += (absl::StrContains(out, "?") ? "&" : "?");
      out += key + "=" + value;
    } else {
      if (!out.empty()) out += " ";
      out += key + "=" + value;
    }
  };
  add("connect_timeout", std::to_string(std::max(1, connect_timeout_s)));
  if (!application_name.empty()) add("application_name", application_name);
  // A peer that vanished without closing the connection (host crash, network partition)
  // is found by TCP within ~25 s on an idle connection and ~15 s with data in flight,
  // instead of the kernel's defaults of hours (libpq ignores these on Unix sockets).
  add("keepalives_idle", "10");
  add("keepalives_interval", "5");
  add("keepalives_count", "3");
  add("tcp_user_timeout", "15000");
  return out;
}

absl::Status StatusFromDbException(const std::exception& e, const std::string& what) {
  std::string msg = e.what();
  // libpq messages end with a newline and sometimes carry a second detail line.
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string full = absl::StrCat(what, ": ", msg);
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat(what, ": database unavailable: ", msg));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return absl::UnavailableError(
        absl::StrCat(what, ": connection lost during commit, outcome unknown: ", msg));
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return absl::AbortedError(full);
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "57014" || state == "55P03") return absl::DeadlineExceededError(full);
    if (state == "23505") return absl::AlreadyExistsError(full);
    if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03") {
      return absl::UnavailableError(absl::StrCat(what, ": database unavailable: ", msg));
    }
    if (state == "53300") {
      return absl::UnavailableError(absl::StrCat(what, ": too many database connections"));
    }
    return absl::InternalError(full);
  }
  return absl::InternalError(full);
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const DbOptions& options) {
  try {
    auto conn = std::make_unique<pqxx::connection>(
        ConninfoWithDefaults(options.url, options.connect_timeout_s, options.application_name));
    if (options.statement_timeout_ms > 0) {
      pqxx::nontransaction tx(*conn);
      tx.exec(absl::StrCat("SET statement_timeout = ", options.statement_timeout_ms));
      tx.exec("SET lock_timeout = " + std::to_string(options.statement_timeout_ms));
      tx.exec("SET idle_in_transaction_session_timeout = 60000");
    }
    return conn;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "connect to PostgreSQL");
  }
}

namespace {

// An idle connection has nothing to read: PostgreSQL only speaks when spoken to (pool
// connections do not LISTEN). Readable data, end of file or an error on its socket means
// the server ended the session (restart, shutdown, terminated backend, idle timeout).
bool IdleConnectionEnded(pqxx::connection& conn) {
  if (!conn.is_open()) return true;
  int fd = conn.sock();
  if (fd < 0) return true;
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

DbPool::DbPool(DbOptions options, ConnectionInit init)
    : options_(std::move(options)), init_(std::move(init)) {}

DbPool::~DbPool() = default;

absl::StatusOr<std::unique_ptr<DbPool>> DbPool::Create(const DbOptions& options,
                                                       ConnectionInit init) {
  if (options.url.empty()) return absl::InvalidArgumentError("database URL is empty");
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("database pool size must be at least 1");
  }
  std::unique_ptr<DbPool> pool(new DbPool(options, std::move(init)));
  auto conn = pool->Open();
  if (!conn.ok()) return conn.status();
  std::lock_guard<std::mutex> lock(pool->mu_);
  pool->idle_.push_back(std::move(*conn));
  pool->open_ = 1;
  return pool;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> DbPool::Open() {
  auto conn = OpenConnection(options_);
  if (!conn.ok()) return conn.status();
  if (init_) {
    try {
      init_(**conn);
    } catch (const std::exception& e) {
      return StatusFromDbException(e, "prepare connection");
    }
  }
  return conn;
}

int DbPool::open_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

absl::StatusOr<DbPool::Lease> DbPool::Acquire(
    std::optional<std::chrono::system_clock::time_point> deadline) {
  auto limit =
      std::chrono::system_clock::now() + std::chrono::milliseconds(options_.acquire_timeout_ms);
  if (deadline && *deadline < limit) limit = *deadline;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (IdleConnectionEnded(*conn)) {
        // Reconnect outside the lock; keep the slot counted while we do.
        conn.reset();
        auto fresh = Open();
        if (!fresh.ok()) {
          Return(nullptr, true);
          return fresh.status();
        }
        conn = std::move(*fresh);
      }
      return Lease(this, std::move(conn));
    }
    if (open_ < options_.pool_size) {
      ++open_;
      lock.unlock();
      auto conn = Open();
      if (!conn.ok()) {
        Return(nullptr, true);
        return conn.status();
      }
      return Lease(this, std::move(*conn));
    }
    if (cv_.wait_until(lock, limit) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      if (deadline && *deadline <= limit) {
        return absl::DeadlineExceededError(
            "deadline passed while waiting for a database connection");
      }
      return absl::UnavailableError(absl::StrCat("all ", options_.pool_size,
                                                 " database connections busy for ",
                                                 options_.acquire_timeout_ms, " ms"));
    }
  }
}

void DbPool::Return(std::unique_ptr<pqxx::connection> conn, bool discard) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn && !discard && conn->is_open()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
  // A discarded connection closes here, outside the lock.
}

DbPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_) pool_->Return(std::move(conn_), discard_);
}

namespace {

// The connection is gone (PostgreSQL restarted, the socket broke, the backend was
// terminated) and nothing was committed: the transaction may run again on a new connection.
bool LostBeforeCommit(const std::exception& e) {
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return false;
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) return false;
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    return absl::StartsWith(state, "08") || state == "57P01" || state == "57P02";
  }
  return false;
}

}  // namespace

absl::Status DbPool::Transact(const TxnOptions& options,
                              const std::function<absl::Status(pqxx::work&)>& fn) {
  // Pooled connections do not notice that PostgreSQL restarted until they are used: one
  // that turns out dead before the commit is replaced and the transaction runs once more,
  // so a restart costs in-flight work only, not the next request on every idle connection.
  int reconnects_left = options_.pool_size;
  for (int attempt = 0;; ++attempt) {
    if (options.deadline && std::chrono::system_clock::now() >= *options.deadline) {
      return absl::DeadlineExceededError("deadline passed before the transaction started");
    }
    auto lease = Acquire(options.deadline);
    if (!lease.ok()) return lease.status();
    absl::Status status;
    bool retryable = false;
    bool committing = false;
    try {
      pqxx::work tx(lease->conn());
      if (options.deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        *options.deadline - std::chrono::system_clock::now())
                        .count();
        if (left < options_.statement_timeout_ms) {
          tx.exec(absl::StrCat("SET LOCAL statement_timeout = ", std::max<int64_t>(1, left)));
        }
      }
      status = fn(tx);
      if (status.ok()) {
        committing = true;
        tx.commit();
      }
      // Otherwise the transaction rolls back when `tx` goes out of scope.
    } catch (const std::exception& e) {
      status = StatusFromDbException(e, "database");
      bool lost = LostBeforeCommit(e);
      if (lost || dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
          !lease->conn().is_open()) {
        lease->Discard();
      }
      if (lost && !committing && reconnects_left > 0) {
        --reconnects_left;
        --attempt;  // not a serialization retry
        continue;
      }
      retryable = dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
                  dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr;
    }
    if (retryable && attempt < options.max_retries) continue;
    return status;
  }
}

}  // namespace lethe
