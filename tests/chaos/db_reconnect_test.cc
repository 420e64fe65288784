// The connection pool when PostgreSQL ends sessions under it (what a restart does to every
// connection): an idle connection the server closed is replaced before use, a transaction
// whose connection dies before its commit runs again on a new one, and a database that is
// down fails fast with UNAVAILABLE instead of hanging. Sessions are ended with
// pg_terminate_backend, so the test needs no cluster of its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/db.h"
#include "tests/integration/worker_test_support.h"

namespace lethe {
namespace {

class DbReconnectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_name_ = "lethe_db_reconnect_" + std::to_string(getpid());
    url_ = worker::testing::CreateTestDatabase(db_name_);
  }
  static void TearDownTestSuite() { worker::testing::DropTestDatabase(db_name_); }

  void SetUp() override {
    ASSERT_FALSE(url_.empty());
    admin_ = std::make_unique<pqxx::connection>(url_);
  }

  // The backend pid serving a transaction of `pool`.
  int64_t BackendPid(DbPool& pool) {
    int64_t pid = 0;
    absl::Status s = pool.Transact([&](pqxx::work& tx) {
      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return pid;
  }

  // Ends the session `pid` and waits until the server has closed it.
  void Terminate(int64_t pid) {
    pqxx::nontransaction tx(*admin_);
    ASSERT_TRUE(
        tx.exec1("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)")[0].as<bool>());
  }

  static std::string db_name_, url_;
  std::unique_ptr<pqxx::connection> admin_;
};

std::string DbReconnectTest::db_name_;
std::string DbReconnectTest::url_;

TEST_F(DbReconnectTest, IdleConnectionsEndedByTheServerAreReplacedBeforeUse) {
  auto pool = worker::testing::MakePool(url_, 3);
  ASSERT_NE(pool, nullptr);
  // Three connections open and idle, then all three sessions end, as in a restart.
  std::set<int64_t> pids;
  {
    std::vector<DbPool::Lease> leases;
    for (int i = 0; i < 3; ++i) {
      auto lease = pool->Acquire();
      ASSERT_TRUE(lease.ok()) << lease.status();
      pqxx::nontransaction tx(lease->conn());
      pids.insert(tx.exec1("SELECT pg_backend_pid()")[0].as<int64_t>());
      leases.push_back(std::move(*lease));
    }
  }
  ASSERT_EQ(pids.size(), 3u);
  for (int64_t pid : pids) Terminate(pid);
  // Every call afterwards succeeds, on new sessions, through both ways of using the pool.
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    pqxx::nontransaction tx(lease->conn());
    int64_t pid = 0;
    ASSERT_NO_THROW(pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int64_t>());
    EXPECT_EQ(pids.count(pid), 0u);
  }
  for (int64_t pid : pids) EXPECT_NE(BackendPid(*pool), pid);
  EXPECT_LE(pool->open_connections(), 3);
}

TEST_F(DbReconnectTest, TransactionWhoseConnectionDiesBeforeCommitRunsAgainOnANewOne) {
  auto pool = worker::testing::MakePool(url_, 2);
  ASSERT_NE(pool, nullptr);
  {
    pqxx::work tx(*admin_);
    tx.exec("CREATE TABLE IF NOT EXISTS chaos_rows (v text)");
    tx.exec("TRUNCATE chaos_rows");
    tx.commit();
  }
  int runs = 0;
  absl::Status s = pool->Transact([&](pqxx::work& tx) {
    ++runs;
    tx.exec("INSERT INTO chaos_rows VALUES ('written')");
    if (runs == 1) {
      // The session dies mid-transaction (its own backend is terminated).
      tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);
  pqxx::nontransaction tx(*admin_);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM chaos_rows")[0].as<int64_t>(), 1)
      << "the first, interrupted run must have left nothing";
}

TEST_F(DbReconnectTest, DatabaseDownFailsFastWithUnavailable) {
  DbOptions o;
  // A port nobody listens on: what a stopped PostgreSQL looks like.
  o.url = "postgresql://lethe@127.0.0.1:1/lethe";
  o.connect_timeout_s = 2;
  auto started = std::chrono::steady_clock::now();
  auto pool = DbPool::Create(o);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable) << pool.status();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace lethe
