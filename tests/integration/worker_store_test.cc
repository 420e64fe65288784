// The worker's SQL against a real PostgreSQL: claiming and coalescing, one running job per
// model, lease takeover and fencing of stale workers, the publishing transaction,
// cancellation, escalation, release, purge and the audit chain.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "common/audit.h"
#include "tests/integration/worker_test_support.h"
#include "worker/job_listener.h"
#include "worker/job_store.h"
#include "worker/orphan_sweep.h"

namespace lethe::worker {
namespace {

using testing::Fixture;
using testing::Hex64;
using testing::ItemSpec;

class WorkerStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_name_ = "lethe_worker_store_" + std::to_string(getpid());
    url_ = testing::CreateTestDatabase(db_name_);
  }
  static void TearDownTestSuite() { testing::DropTestDatabase(db_name_); }

  void SetUp() override {
    ASSERT_FALSE(url_.empty());
    pool_ = testing::MakePool(url_);
    ASSERT_NE(pool_, nullptr);
    fx_ = std::make_unique<Fixture>(url_);
    // Every test gets its own model so tests do not see each other's jobs.
    model_ = "m" + std::to_string(++counter_);
    base_version_ = fx_->AddModel(model_, Hex64('a'), model_ + "/" + Hex64('a'));
    // Other tests' leftovers must not be claimable by this test.
    fx_->Scalar(
        "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE state IN ('running', 'queued')");
    fx_->Scalar("UPDATE forget_requests SET state = 'cancelled' WHERE state = 'queued'");
  }

  JobStore Store(const std::string& id) { return JobStore(pool_.get(), id); }

  ClaimedJob MustClaim(JobStore& s, double lease = 60) {
    ClaimOptions o;
    o.lease_seconds = lease;
    auto r = s.ClaimNext(o);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r.ok() && r->job.has_value()) << "nothing claimed";
    return r.ok() && r->job ? *r->job : ClaimedJob{};
  }

  void ExpireLease(const std::string& job) {
    fx_->Scalar("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = '" +
                job + "'");
  }

  PublishInput SomeVersion(char c, const std::vector<ForgottenItem>& forgotten) {
    PublishInput in;
    in.base = {base_version_, Hex64('a'), model_ + "/" + Hex64('a')};
    in.sha256 = Hex64(c);
    in.uri = model_ + "/" + Hex64(c);
    in.files["generator.pt"] = Hex64('1');
    in.metrics["auc_u"] = 0.85;
    in.verdict["reached"] = true;
    in.forgotten = forgotten;
    return in;
  }

  static std::string db_name_, url_;
  static int counter_;
  std::unique_ptr<DbPool> pool_;
  std::unique_ptr<Fixture> fx_;
  std::string model_;
  int64_t base_version_ = 0;
};

std::string WorkerStoreTest::db_name_;
std::string WorkerStoreTest::url_;
int WorkerStoreTest::counter_ = 0;

TEST_F(WorkerStoreTest, QueuedItemRequestsAreCoalescedIntoOneJob) {
  std::string a = fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  std::string b =
      fx_->AddItemsRequest(model_, {{"train/2", Hex64('2'), {}}, {"train/3", Hex64('3'), {}}});
  std::string other =
      fx_->AddItemsRequest(model_, {{"train/4", Hex64('4'), {}}}, "{}", "zero_shot");
  std::string cls = fx_->AddClassRequest(model_, 3);
  JobStore w = Store("w1");
  ClaimedJob job = MustClaim(w);
  EXPECT_EQ(job.model, model_);
  EXPECT_EQ(job.lease.attempt, 1);
  EXPECT_EQ(std::set<std::string>(job.request_ids.begin(), job.request_ids.end()),
            (std::set<std::string>{a, b}));
  EXPECT_EQ(job.wait_seconds.size(), 2u);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM forget_requests WHERE state = 'running' AND id IN ('" +
                       a + "','" + b + "')"),
            2);
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + other + "'"), "queued");
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + cls + "'"), "queued");
  EXPECT_EQ(
      fx_->Count(
          "SELECT count(*) FROM audit_log WHERE action = 'job.claimed' AND payload->>'job' = '" +
          job.lease.job_id + "'"),
      2);
  // One job at a time per model: nothing else is claimable while it runs.
  JobStore w2 = Store("w2");
  auto none = w2.ClaimNext({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->job.has_value());
  EXPECT_GE(none->next_lease_expiry_seconds, 0);
}

TEST_F(WorkerStoreTest, ConcurrentClaimsNeverRunTwoJobsOnOneModel) {
  for (int i = 0; i < 6; ++i) {
    // Different settings, so each request needs a job of its own.
    fx_->AddItemsRequest(model_, {{"train/" + std::to_string(i), Hex64('1'), {}}},
                         "{\"iteration_budget\": " + std::to_string(i + 1) + "}");
  }
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      JobStore s(pool_.get(), "racer" + std::to_string(t));
      for (int k = 0; k < 5; ++k) {
        auto r = s.ClaimNext({});
        if (r.ok() && r->job) ++claimed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.load(), 1);
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM jobs WHERE state = 'running' AND model = '" + model_ + "'"),
      1);
}

TEST_F(WorkerStoreTest, StaleWorkerIsFencedAndTheNewOwnerPublishesExactlyOnce) {
  std::string req = fx_->AddItemsRequest(
      model_, {{"train/7", Hex64('7'), {}}, {std::nullopt, Hex64('8'), std::string("PNGBYTES")}});
  JobStore stale = Store("stale");
  ClaimedJob first = MustClaim(stale);
  ExpireLease(first.lease.job_id);

  JobStore fresh = Store("fresh");
  ClaimedJob second = MustClaim(fresh);
  EXPECT_EQ(second.lease.job_id, first.lease.job_id);
  EXPECT_EQ(second.lease.attempt, 2);
  EXPECT_TRUE(second.takeover);
  EXPECT_EQ(second.previous_owner, "stale");

  // The stale worker wakes up: every fenced write is rejected and changes nothing.
  auto beat = stale.Heartbeat(first.lease, 60);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->lost);
  EXPECT_TRUE(IsLeaseLost(stale.WriteProgress(first.lease, Phase::kUnlearning, Json::Object())));
  EXPECT_TRUE(IsLeaseLost(stale.LoadInputs(first.lease).status()));
  std::vector<ForgottenItem> forgotten = {{std::string("train/7"), Hex64('7'), req},
                                          {std::nullopt, Hex64('8'), req}};
  auto late = stale.Publish(first.lease, SomeVersion('b', forgotten));
  EXPECT_TRUE(IsLeaseLost(late.status())) << late.status();
  EXPECT_TRUE(IsLeaseLost(stale.FinishFailed(first.lease, "late", Json())));
  EXPECT_TRUE(IsLeaseLost(stale.Release(first.lease, "late")));
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'"), 1);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ + "'"), 0);
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + req + "'"), "running");

  // The new owner loads the job (with the uploaded bytes) and publishes.
  auto inputs = fresh.LoadInputs(second.lease);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->requests.size(), 1u);
  ASSERT_EQ(inputs->requests[0].items.size(), 2u);
  EXPECT_EQ(*inputs->requests[0].items[1].png, "PNGBYTES");
  EXPECT_EQ(inputs->base.id, base_version_);
  auto pub = fresh.Publish(second.lease, SomeVersion('c', forgotten));
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->tombstones_added, 2);
  EXPECT_EQ(pub->images_deleted, 1);
  // Publishing again (a retried commit) reports the same version and adds nothing.
  auto again = fresh.Publish(second.lease, SomeVersion('c', forgotten));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version_id, pub->version_id);

  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'"), 2);
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM model_versions WHERE job = '" + second.lease.job_id + "'"),
      1);
  EXPECT_EQ(fx_->Count("SELECT production_version FROM models WHERE name = '" + model_ + "'"),
            pub->version_id);
  EXPECT_EQ(
      fx_->Scalar("SELECT state FROM model_versions WHERE id = " + std::to_string(base_version_)),
      "superseded");
  EXPECT_EQ(fx_->Scalar("SELECT parent FROM model_versions WHERE id = " +
                        std::to_string(pub->version_id)),
            std::to_string(base_version_));
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + req + "'"), "completed");
  EXPECT_EQ(
      fx_->Count("SELECT (result->>'model_version')::bigint FROM forget_requests WHERE id = '" +
                 req + "'"),
      pub->version_id);
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND request_id = '" +
                 req + "'"),
      0);
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + second.lease.job_id + "'"),
            "succeeded");
  EXPECT_EQ(
      fx_->Count(
          "SELECT count(*) FROM audit_log WHERE action = 'request.completed' AND request_id = '" +
          req + "'"),
      1);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM audit_log WHERE action = 'model.version_published' "
                       "AND (payload->>'version')::bigint = " +
                       std::to_string(pub->version_id)),
            1);
  auto verified = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->reason;
}

TEST_F(WorkerStoreTest, CancellationCancelsOnlyTheAskingRequestAndRequeuesTheOthers) {
  std::string keep = fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  std::string drop = fx_->AddItemsRequest(model_, {{"train/2", Hex64('2'), std::string("IMG")}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  ASSERT_EQ(job.request_ids.size(), 2u);
  fx_->Scalar("UPDATE forget_requests SET cancel_requested = true WHERE id = '" + drop + "'");
  auto beat = w.Heartbeat(job.lease, 60);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->cancel_requested);
  auto follow = w.FinishCancelled(job.lease);
  ASSERT_TRUE(follow.ok()) << follow.status();
  EXPECT_FALSE(follow->empty());
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + drop + "'"),
            "cancelled");
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND request_id = '" +
                 drop + "'"),
      0);
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + keep + "'"), "running");
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job.lease.job_id + "'"),
            "cancelled");
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'"), 1);
  // The remaining request runs in the follow-up job.
  ClaimedJob next = MustClaim(w);
  EXPECT_EQ(next.lease.job_id, *follow);
  EXPECT_EQ(next.request_ids, std::vector<std::string>{keep});
}

TEST_F(WorkerStoreTest, MissedDestinationEscalatesToARetrainingJobNeverCompleted) {
  std::string req = fx_->AddItemsRequest(model_, {{"train/5", Hex64('5'), {}}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  Json report = Json::Object();
  report["destination"]["reached"] = false;
  auto retrain = w.EscalateToRetrain(job.lease, report);
  ASSERT_TRUE(retrain.ok()) << retrain.status();
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job.lease.job_id + "'"), "failed");
  EXPECT_EQ(fx_->Scalar("SELECT kind || ':' || state FROM jobs WHERE id = '" + *retrain + "'"),
            "retrain:queued");
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + req + "'"), "running");
  EXPECT_EQ(
      fx_->Count(
          "SELECT count(*) FROM audit_log WHERE action = 'request.escalated' AND request_id = '" +
          req + "'"),
      1);
  ClaimedJob r = MustClaim(w);
  EXPECT_EQ(r.lease.job_id, *retrain);
  EXPECT_EQ(r.kind, "retrain");
  // With the "fail" policy the request fails with the report instead.
  ASSERT_TRUE(w.FinishFailed(r.lease, "destination not reached", report).ok());
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + req + "'"), "failed");
  EXPECT_EQ(
      fx_->Scalar(
          "SELECT result->'report'->'destination'->>'reached' FROM forget_requests WHERE id = '" +
          req + "'"),
      "false");
}

TEST_F(WorkerStoreTest, ReleasedJobIsClaimedAgainAsANewAttempt) {
  fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  ASSERT_TRUE(w.Release(job.lease, "shutdown").ok());
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job.lease.job_id + "'"), "queued");
  JobStore other = Store("other");
  ClaimedJob again = MustClaim(other);
  EXPECT_EQ(again.lease.job_id, job.lease.job_id);
  EXPECT_EQ(again.lease.attempt, 2);
  EXPECT_TRUE(IsLeaseLost(w.WriteProgress(job.lease, Phase::kNone, Json::Object())));
}

TEST_F(WorkerStoreTest, JobWhoseWorkersKeepDyingIsFailedAfterMaxAttempts) {
  std::string req = fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), std::string("IMG")}});
  JobStore w = Store("w");
  ClaimOptions o;
  o.max_attempts = 2;
  auto first = w.ClaimNext(o);
  ASSERT_TRUE(first.ok() && first->job);
  ExpireLease(first->job->lease.job_id);
  auto second = w.ClaimNext(o);
  ASSERT_TRUE(second.ok() && second->job);
  EXPECT_EQ(second->job->lease.attempt, 2);
  ExpireLease(first->job->lease.job_id);
  auto third = w.ClaimNext(o);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->look_again);
  EXPECT_FALSE(third->job.has_value());
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + req + "'"), "failed");
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND request_id = '" +
                 req + "'"),
      0);
}

TEST_F(WorkerStoreTest, PurgeRemovesSupersededVersionsAfterTheGracePeriodOnly) {
  fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  auto pub = w.Publish(job.lease, SomeVersion('f', {}));
  ASSERT_TRUE(pub.ok()) << pub.status();
  std::vector<std::string> removed;
  auto remove = [&](const std::string& uri) {
    removed.push_back(uri);
    return absl::OkStatus();
  };
  auto none = w.PurgeSuperseded(3600, remove);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_TRUE(removed.empty());
  fx_->Scalar("UPDATE model_versions SET superseded_at = now() - interval '2 hours' WHERE id = " +
              std::to_string(base_version_));
  auto purged = w.PurgeSuperseded(3600, remove);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(removed, std::vector<std::string>{model_ + "/" + Hex64('a')});
  EXPECT_EQ(
      fx_->Scalar("SELECT state FROM model_versions WHERE id = " + std::to_string(base_version_)),
      "purged");
  EXPECT_EQ(
      fx_->Scalar("SELECT state FROM model_versions WHERE id = " + std::to_string(pub->version_id)),
      "active");
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM audit_log WHERE action = 'model.version_purged' AND "
                       "(payload->>'version')::bigint = " +
                       std::to_string(base_version_)),
            1);
  // Purged versions are not purged twice.
  EXPECT_EQ(*w.PurgeSuperseded(3600, remove), 0);
  EXPECT_EQ(removed.size(), 1u);
}

TEST_F(WorkerStoreTest, EditedAuditRecordIsDetectedAtThatRecord) {
  fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  ASSERT_TRUE(w.Publish(job.lease, SomeVersion('9', {})).ok());
  auto ok = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->ok) << ok->reason;
  std::string seq = fx_->Scalar(
      "SELECT seq FROM audit_log WHERE action = 'request.completed' ORDER BY seq DESC LIMIT 1");
  std::string original = fx_->Scalar("SELECT payload::text FROM audit_log WHERE seq = " + seq);
  fx_->Scalar("UPDATE audit_log SET payload = jsonb_set(payload, '{version}', '1') WHERE seq = " +
              seq);
  auto bad = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(std::to_string(bad->first_bad_seq), seq);
  // Putting the original back makes the chain verify again.
  pqxx::work tx(fx_->conn());
  tx.exec_params("UPDATE audit_log SET payload = $1::jsonb WHERE seq = $2", original, seq);
  tx.commit();
  auto restored = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->ok) << restored->reason;
}

// A dead LISTEN connection is silent like an idle one: the listener must find out within
// seconds (heartbeat), reconnect, say so (Wait returns true: something may have been
// queued meanwhile) and receive notifications again.
TEST_F(WorkerStoreTest, ListenerNoticesALostConnectionWithinSeconds) {
  std::FILE* log_file = std::tmpfile();
  ASSERT_NE(log_file, nullptr);
  Logger log("test", LogLevel::kInfo, log_file);
  DbOptions options;
  options.url = url_;
  const std::string channel = "lethe_jobs_test_" + std::to_string(getpid());
  JobListener listener(options, channel, &log, /*heartbeat_seconds=*/0.5);
  ASSERT_TRUE(listener.Connect().ok());
  EXPECT_FALSE(listener.Wait(0.3));  // quiet, healthy: nothing to report

  // The server side of the connection goes away, as when PostgreSQL is killed or restarted.
  fx_->Scalar(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'lethe-worker-listen' AND pid <> pg_backend_pid()");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(listener.Wait(30));  // lost and reopened
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 5.0) << "the lost connection took " << secs << " s to notice";
  EXPECT_EQ(listener.losses(), 1);

  // Listening again: a notification arrives.
  fx_->Scalar("SELECT count(*) FROM pg_notify('" + channel + "', 'x')");
  EXPECT_TRUE(listener.Wait(10));
  EXPECT_EQ(listener.losses(), 1);

  std::fflush(log_file);
  std::rewind(log_file);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), log_file)) > 0) text.append(buf, n);
  std::fclose(log_file);
  EXPECT_NE(text.find("notification connection lost"), std::string::npos) << text;
  EXPECT_NE(text.find("listening for jobs again"), std::string::npos) << text;
}

// What a killed worker leaves behind (a version renamed into the store without its row,
// temporaries, work directories of dead attempts) is removed after the grace period; live
// versions, young entries and the work directory of a running attempt stay.
TEST_F(WorkerStoreTest, OrphanSweepRemovesWhatNoRowOrRunningAttemptOwns) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("lethe-orphans-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::path store_root = root / "store";
  fs::path work_root = root / "work";
  fs::create_directories(work_root);
  auto store = DirectoryModelStore::Create(store_root.string());
  ASSERT_TRUE(store.ok()) << store.status();

  fx_->AddItemsRequest(model_, {{"train/1", Hex64('1'), {}}});
  JobStore w = Store("w");
  ClaimedJob job = MustClaim(w);
  const std::string live_key = model_ + "/" + Hex64('a');  // the version AddModel registered
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  auto make = [&](const fs::path& dir, bool aged) {
    fs::create_directories(dir);
    std::FILE* f = std::fopen((dir / "generator.pt").c_str(), "w");
    std::fputs("weights", f);
    std::fclose(f);
    if (aged) fs::last_write_time(dir, old);
  };
  make(store_root / live_key, true);
  make(store_root / model_ / Hex64('b'), true);   // renamed, row never committed
  make(store_root / model_ / Hex64('c'), false);  // the same, but within the grace
  make(store_root / model_ / (".tmp-" + Hex64('d').substr(0, 16) + "-x"), true);
  std::string running = "lethe-job-" + job.lease.job_id + "-" + std::to_string(job.lease.attempt);
  std::string dead = "lethe-job-" + job.lease.job_id + "-" + std::to_string(job.lease.attempt + 7);
  make(work_root / running, true);
  make(work_root / dead, true);
  make(work_root / "something-else", true);

  std::FILE* log_file = std::tmpfile();
  Logger log("test", LogLevel::kInfo, log_file);
  OrphanSweeper sweeper(pool_.get(), store->get(), work_root.string(), &log);
  auto counts = sweeper.SweepOnce(/*grace_seconds=*/600);
  std::fclose(log_file);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->versions, 1);
  EXPECT_EQ(counts->temporaries, 1);
  EXPECT_EQ(counts->work_dirs, 1);
  EXPECT_TRUE(fs::exists(store_root / live_key / "generator.pt"));
  EXPECT_FALSE(fs::exists(store_root / model_ / Hex64('b')));
  EXPECT_TRUE(fs::exists(store_root / model_ / Hex64('c')));
  EXPECT_FALSE(fs::exists(store_root / model_ / (".tmp-" + Hex64('d').substr(0, 16) + "-x")));
  EXPECT_TRUE(fs::exists(work_root / running));
  EXPECT_FALSE(fs::exists(work_root / dead));
  EXPECT_TRUE(fs::exists(work_root / "something-else"));

  // Once purged in the database, the live version's files are orphans too.
  fx_->Scalar("UPDATE model_versions SET state = 'purged' WHERE uri = '" + live_key + "'");
  log_file = std::tmpfile();
  Logger log2("test", LogLevel::kInfo, log_file);
  OrphanSweeper again(pool_.get(), store->get(), work_root.string(), &log2);
  counts = again.SweepOnce(600);
  std::fclose(log_file);
  ASSERT_TRUE(counts.ok());
  EXPECT_FALSE(fs::exists(store_root / live_key));
  fs::remove_all(root);
}

TEST(OrphanPlanTest, WorkDirNamesAndGrace) {
  EXPECT_EQ(WorkDirAttempt("lethe-job-123e4567-e89b-42d3-a456-426614174000-2"),
            "123e4567-e89b-42d3-a456-426614174000-2");
  EXPECT_EQ(WorkDirAttempt("lethe-job-x-"), "");
  EXPECT_EQ(WorkDirAttempt("lethe-job-abc-1x"), "");
  EXPECT_EQ(WorkDirAttempt("other-1"), "");
  LiveSet live;
  live.version_uris = {"m/live"};
  live.running_attempts = {"j-1"};
  OrphanPlan plan = PlanOrphanSweep(
      {{"m/live", false, 100},
       {"m/dead", false, 100},
       {"m/young", false, 5},
       {"m/.tmp-1", true, 100}},
      {{"lethe-job-j-1", 100}, {"lethe-job-j-2", 100}, {"lethe-job-j-3", 1}}, live, 10);
  ASSERT_EQ(plan.store.size(), 2u);
  EXPECT_EQ(plan.store[0].key, "m/dead");
  EXPECT_EQ(plan.store[1].key, "m/.tmp-1");
  EXPECT_EQ(plan.work_dirs, std::vector<std::string>{"lethe-job-j-2"});
}

}  // namespace
}  // namespace lethe::worker
