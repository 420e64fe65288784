// lethe-worker as real processes against a real PostgreSQL, with the engine's tiny preset
// on a tiny synthetic data set (a job takes seconds): crash and takeover (kill -9),
// a stale worker resumed after takeover (SIGSTOP/SIGCONT), coalescing, tombstones,
// deletion of uploaded bytes, purge after the grace period, audit verification,
// cancellation, escalation of a missed destination, graceful shutdown, /metrics.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "common/audit.h"
#include "common/model_store.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "engine/data/content_hash.h"
#include "tests/integration/worker_engine_assets.h"
#include "tests/integration/worker_test_support.h"

namespace lethe::worker {
namespace {

using testing::EngineAssets;
using testing::Fixture;
using testing::ItemSpec;

bool WaitUntil(const std::function<bool()>& cond, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One lethe-worker process; its stderr (JSON logs) goes to a file.
class WorkerProcess {
 public:
  WorkerProcess(std::vector<std::string> args, std::string log_path)
      : log_path_(std::move(log_path)) {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("OMP_NUM_THREADS", "1", 1);
      std::vector<char*> argv;
      static std::string binary = LETHE_WORKER_BINARY;
      argv.push_back(binary.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~WorkerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void Signal(int sig) { kill(pid_, sig); }
  // Exit status, or -1 if still running after `seconds`.
  int Wait(double seconds) {
    int status = 0;
    bool done = WaitUntil(
        [&] {
          pid_t r = waitpid(pid_, &status, WNOHANG);
          return r == pid_;
        },
        seconds);
    if (!done) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string Log() const { return ReadAll(log_path_); }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string log_path_;
};

// GET /metrics from 127.0.0.1:port.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, req.data(), req.size()) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, size_t(n));
  close(fd);
  size_t body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

class WorkerProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* build = std::getenv("LETHE_BUILD_DIR");
    std::string root = build != nullptr ? build : std::filesystem::temp_directory_path().string();
    assets_ = new EngineAssets(testing::PrepareEngineAssets(root));
    db_name_ = "lethe_worker_proc_" + std::to_string(getpid());
    url_ = testing::CreateTestDatabase(db_name_);
    dir_ = std::filesystem::temp_directory_path().string() + "/lethe-worker-proc-" +
           std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    MakeDirs(dir_);
  }
  static void TearDownTestSuite() {
    testing::DropTestDatabase(db_name_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    delete assets_;
  }

  void SetUp() override {
    ASSERT_FALSE(url_.empty());
    fx_ = std::make_unique<Fixture>(url_);
    fx_->Scalar(
        "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE state IN ('running', 'queued')");
    fx_->Scalar("UPDATE forget_requests SET state = 'failed' WHERE state IN ('queued', 'running')");
    model_ = "p" + std::to_string(++counter_);
    store_dir_ = dir_ + "/store";
    auto store = DirectoryModelStore::Create(store_dir_);
    ASSERT_TRUE(store.ok());
    std::map<std::string, std::string> files;
    for (const auto& [name, sha] : assets_->manifest.at("files").items())
      files[name] = sha.AsString();
    auto key = (*store)->PutVersion(model_, assets_->digest, assets_->checkpoint_dir, files);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
    base_version_ = fx_->AddModel(model_, assets_->digest, key_, 8, 10, assets_->dataset_name,
                                  assets_->fingerprint);
  }

  std::vector<std::string> Args(const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {
        "--database-url=" + url_,
        "--model-store=" + store_dir_,
        "--evaluator=" + assets_->evaluator_dir,
        "--worker-id=" + id,
        "--lease-seconds=3",
        "--heartbeat-seconds=0.5",
        "--poll-seconds=1",
        "--threads=1",
        "--inversion-steps=10",
        "--eval-every=5",
        "--eval-samples=32",
        "--metric-samples=48",
        "--retrain-iterations=20",
        "--progress-interval-seconds=0.2",
        "--purge-interval-seconds=0.5",
        "--retry-initial-seconds=0.1",
        "--retry-max-seconds=0.5",
        "--metrics-listen=",
        "--work-dir=" + dir_ + "/work-" + id,
        "--served-ids-log=" + dir_ + "/served-" + model_ + ".log",
    };
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::unique_ptr<WorkerProcess> Start(const std::string& id, std::vector<std::string> extra = {}) {
    return std::make_unique<WorkerProcess>(Args(id, std::move(extra)),
                                           dir_ + "/" + model_ + "-" + id + ".log");
  }

  ItemSpec Item(int64_t index) {
    std::string px = testing::TrainPixels(*assets_, index);
    return {"train/" + std::to_string(index), Sha256Hex(px), std::nullopt};
  }
  std::string State(const std::string& request) {
    return fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + request + "'");
  }
  int64_t Versions() {
    return fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'");
  }
  std::string Production() {
    return fx_->Scalar("SELECT production_version FROM models WHERE name = '" + model_ + "'");
  }
  bool Terminal(const std::string& request) {
    std::string s = State(request);
    return s == "completed" || s == "failed" || s == "cancelled";
  }

  // Reached within a few checks (the lowest AUC threshold, the hardest push of D): the
  // service mechanics are under test here, not the method.
  const std::string kEasy =
      "{\"destination\": \"forget_auc\", \"destination_threshold\": 0.51, \"fake_label\": -1}";
  // Never reached: a perfect AUC after one iteration.
  const std::string kUnreachable =
      "{\"destination\": \"forget_auc\", \"destination_threshold\": 1.0, \"iteration_budget\": 1}";
  // Long enough to interrupt: many iterations, checked only at the end.
  const std::string kLong =
      "{\"destination\": \"forget_auc\", \"destination_threshold\": 0.51, \"fake_label\": -1, "
      "\"iteration_budget\": 2000}";

  static EngineAssets* assets_;
  static std::string db_name_, url_, dir_;
  static int counter_;
  std::unique_ptr<Fixture> fx_;
  std::string model_, store_dir_, key_;
  int64_t base_version_ = 0;
};

EngineAssets* WorkerProcessTest::assets_ = nullptr;
std::string WorkerProcessTest::db_name_;
std::string WorkerProcessTest::url_;
std::string WorkerProcessTest::dir_;
int WorkerProcessTest::counter_ = 0;

TEST_F(WorkerProcessTest, CoalescedRequestsOneVersionBytesDeletedPurgeAuditAndMetrics) {
  // Two requests queued before any worker runs: one job, one version, both completed.
  std::string a = fx_->AddItemsRequest(model_, {Item(3), Item(14)}, kEasy);
  std::string upload = testing::NovelImagePng(1);
  Image8 decoded;
  std::string err;
  ASSERT_TRUE(DecodePng(upload, 1, PngLimits{}, &decoded, &err)) << err;
  std::string b = fx_->AddItemsRequest(
      model_, {{std::nullopt, data::ContentHash(decoded), upload}, Item(25)}, kEasy);
  int port = FreePort();
  auto w = Start("w1", {"--purge-grace=2s", "--metrics-listen=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(WaitUntil([&] { return Terminal(a) && Terminal(b); }, 90)) << w->Log();
  EXPECT_EQ(State(a), "completed")
      << fx_->Scalar("SELECT result::text FROM forget_requests WHERE id = '" + a + "'") << w->Log();
  EXPECT_EQ(State(b), "completed");
  EXPECT_EQ(fx_->Count("SELECT count(DISTINCT job_id) FROM job_requests WHERE request_id IN ('" +
                       a + "','" + b + "')"),
            1);
  EXPECT_EQ(Versions(), 2);
  std::string version = Production();
  EXPECT_EQ(
      fx_->Scalar("SELECT result->>'model_version' FROM forget_requests WHERE id = '" + a + "'"),
      version);
  EXPECT_EQ(
      fx_->Scalar("SELECT result->>'model_version' FROM forget_requests WHERE id = '" + b + "'"),
      version);
  // The report has the verification numbers, before and after.
  EXPECT_EQ(
      fx_->Scalar(
          "SELECT result->'report'->>'destination_reached' FROM forget_requests WHERE id = '" + a +
          "'"),
      "true");
  EXPECT_NE(
      fx_->Scalar("SELECT result->'report'->'after'->>'auc_u' FROM forget_requests WHERE id = '" +
                  a + "'"),
      "");
  EXPECT_NE(
      fx_->Scalar("SELECT result->'report'->'before'->>'fd_l' FROM forget_requests WHERE id = '" +
                  a + "'"),
      "");
  EXPECT_EQ(fx_->Scalar("SELECT result->'report'->'forget'->>'unmatched_uploads' FROM "
                        "forget_requests WHERE id = '" +
                        b + "'"),
            "1");
  // Tombstones for the three items and the unmatched upload; uploaded bytes gone.
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ + "'"), 4);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ +
                       "' AND item_id IS NULL"),
            1);
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND request_id = '" +
                 b + "'"),
      0);
  // The new version in the store: weights, report, sample grid, all verified by hash.
  std::string uri = fx_->Scalar("SELECT uri FROM model_versions WHERE id = " + version);
  for (const char* f :
       {"manifest.json", "generator.pt", "discriminator.pt", "report.json", "sample.png"}) {
    EXPECT_TRUE(PathExists(JoinPath(JoinPath(store_dir_, uri), f))) << f;
  }
  Image8 grid;
  ASSERT_TRUE(DecodePng(ReadFile(JoinPath(JoinPath(store_dir_, uri), "sample.png")), 1, PngLimits{},
                        &grid, &err));
  EXPECT_EQ(grid.height, 10 * 8);  // one row per class
  EXPECT_EQ(fx_->Scalar("SELECT sha256 FROM model_versions WHERE id = " + version),
            Sha256Hex(ReadFile(JoinPath(JoinPath(store_dir_, uri), "manifest.json"))));
  // The superseded base version is purged after the 2 s grace period, and audited.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return fx_->Scalar("SELECT state FROM model_versions WHERE id = " +
                           std::to_string(base_version_)) == "purged";
      },
      20))
      << w->Log();
  EXPECT_FALSE(PathExists(JoinPath(store_dir_, key_)));
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM audit_log WHERE action = 'model.version_purged' AND "
                       "(payload->>'version')::bigint = " +
                       std::to_string(base_version_)),
            1);
  // /metrics: jobs by outcome, publish and purge counts; promtool accepts the names.
  std::string metrics = HttpGet(port, "/metrics");
  EXPECT_NE(metrics.find("lethe_worker_jobs_total{outcome=\"published\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("lethe_worker_versions_purged_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("lethe_worker_request_completion_seconds_count 2"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("lethe_worker_last_heartbeat_timestamp_seconds 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("lethe_worker_phase_duration_seconds_count{phase=\"unlearning\"} 1"),
            std::string::npos);
  std::string metrics_file = dir_ + "/metrics.txt";
  std::ofstream(metrics_file) << metrics;
  if (PathExists("/usr/bin/promtool")) {
    EXPECT_EQ(
        std::system(
            ("/usr/bin/promtool check metrics < " + metrics_file + " > /dev/null 2>&1").c_str()),
        0);
  }
  // Structured logs carry the job and request ids.
  std::string log = w->Log();
  EXPECT_NE(log.find("\"msg\":\"model version published\""), std::string::npos) << log;
  EXPECT_NE(log.find(a), std::string::npos);
  // Graceful stop.
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0) << w->Log();
  // The audit chain verifies; an edited record is detected at that record.
  auto ok = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok) << ok->reason;
  std::string seq = fx_->Scalar("SELECT min(seq) FROM audit_log WHERE request_id = '" + a +
                                "' AND action = 'request.completed'");
  std::string original = fx_->Scalar("SELECT payload::text FROM audit_log WHERE seq = " + seq);
  fx_->Scalar(
      "UPDATE audit_log SET payload = jsonb_set(payload, '{tombstones}', '0') WHERE seq = " + seq);
  auto bad = VerifyAuditChain(fx_->conn());
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(std::to_string(bad->first_bad_seq), seq);
  pqxx::work tx(fx_->conn());
  tx.exec_params("UPDATE audit_log SET payload = $1::jsonb WHERE seq = $2", original, seq);
  tx.commit();
}

TEST_F(WorkerProcessTest, KilledWorkersJobIsFinishedByAnotherExactlyOnce) {
  std::string req = fx_->AddItemsRequest(model_, {Item(5)}, kLong);
  auto a = Start("a", {"--eval-every=1000"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return fx_->Scalar("SELECT phase FROM forget_requests WHERE id = '" + req + "'") ==
               "unlearning";
      },
      60))
      << a->Log();
  std::string job = fx_->Scalar("SELECT job_id FROM job_requests WHERE request_id = '" + req + "'");
  EXPECT_EQ(fx_->Scalar("SELECT lease_owner FROM jobs WHERE id = '" + job + "'"), "a");
  // Progress is visible while it runs.
  EXPECT_NE(fx_->Scalar("SELECT progress->>'iteration_budget' FROM forget_requests WHERE id = '" +
                        req + "'"),
            "");
  auto b = Start("b");
  a->Signal(SIGKILL);
  a->Wait(10);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 90)) << b->Log();
  EXPECT_EQ(State(req), "completed") << b->Log();
  EXPECT_EQ(fx_->Scalar("SELECT attempt FROM jobs WHERE id = '" + job + "'"), "2");
  EXPECT_EQ(Versions(), 2);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE job = '" + job + "'"), 1);
  EXPECT_EQ(
      fx_->Count("SELECT count(*) FROM audit_log WHERE action = 'job.claimed' AND request_id = '" +
                 req + "' AND payload->>'takeover' = 'true' AND payload->>'previous_owner' = 'a'"),
      1);
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(20), 0);
}

TEST_F(WorkerProcessTest, StaleWorkerResumedAfterTakeoverChangesNothing) {
  std::string req = fx_->AddItemsRequest(model_, {Item(6)}, kLong);
  auto a = Start("a", {"--eval-every=1000"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return fx_->Scalar("SELECT phase FROM forget_requests WHERE id = '" + req + "'") ==
               "unlearning";
      },
      60))
      << a->Log();
  a->Signal(SIGSTOP);  // a long GC pause, a frozen VM...
  auto b = Start("b");
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 90)) << b->Log();
  EXPECT_EQ(State(req), "completed");
  std::string version = Production();
  a->Signal(SIGCONT);
  // The stale worker notices it lost the job and writes nothing.
  ASSERT_TRUE(WaitUntil(
      [&] { return a->Log().find("another worker holds it now") != std::string::npos; }, 30))
      << a->Log();
  EXPECT_EQ(Versions(), 2);
  EXPECT_EQ(Production(), version);
  EXPECT_EQ(State(req), "completed");
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(20), 0);
  EXPECT_EQ(b->Wait(20), 0);
}

TEST_F(WorkerProcessTest, TombstonedItemsAndTheirCopiesAreNeverRetainedAgain) {
  auto w = Start("w");
  // Forget item 0, which has a pixel-identical copy under another id, and two others.
  std::string first =
      fx_->AddItemsRequest(model_, {Item(assets_->duplicate_of), Item(2), Item(4)}, kEasy);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(first); }, 60)) << w->Log();
  ASSERT_EQ(State(first), "completed") << w->Log();
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ +
                       "' AND item_id = 'train/0'"),
            1);
  EXPECT_EQ(
      fx_->Scalar(
          "SELECT result->'report'->'data'->>'excluded_items' FROM forget_requests WHERE id = '" +
          first + "'"),
      "4");  // train/0, its copy, train/2 and train/4
  // The next job forgets a quarter of the data set, so its retained sample is large.
  std::vector<ItemSpec> many;
  for (int64_t i = 1; i < assets_->train_items && many.size() < 100; i += 3) {
    if (i != assets_->duplicate && i != 4) many.push_back(Item(i));
  }
  // (Stopped as soon as the forgotten images score like test images: the exclusion is
  // under test, not how far this many items can be pushed.)
  std::string second = fx_->AddItemsRequest(
      model_, many, "{\"destination\": \"non_member\", \"destination_threshold\": 0.499}");
  ASSERT_TRUE(WaitUntil([&] { return Terminal(second); }, 90)) << w->Log();
  ASSERT_EQ(State(second), "completed") << w->Log();
  // The retained set excluded the earlier tombstone and its copy besides the new items...
  int64_t excluded = fx_->Count(
      "SELECT (result->'report'->'data'->>'excluded_items')::bigint FROM forget_requests WHERE id "
      "= '" +
      second + "'");
  int64_t retained = fx_->Count(
      "SELECT (result->'report'->'data'->>'retained_items')::bigint FROM forget_requests WHERE id "
      "= '" +
      second + "'");
  EXPECT_EQ(excluded, int64_t(many.size()) + 4);
  EXPECT_EQ(retained, assets_->train_items - excluded);
  // ...and no job ever read a forgotten item as retained data.
  std::string served = ReadAll(dir_ + "/served-" + model_ + ".log");
  EXPECT_FALSE(served.empty());
  std::string second_job =
      fx_->Scalar("SELECT job_id FROM job_requests WHERE request_id = '" + second + "'");
  std::istringstream lines(served);
  std::string job, id;
  int64_t second_served = 0;
  std::set<std::string> forgotten = {"train/0", "train/2", "train/4",
                                     "train/" + std::to_string(assets_->duplicate)};
  for (const auto& it : many) forgotten.insert(*it.item_id);
  while (lines >> job >> id) {
    EXPECT_NE(id, "train/0");
    EXPECT_NE(id, "train/" + std::to_string(assets_->duplicate));
    if (job != second_job) continue;
    ++second_served;
    EXPECT_EQ(forgotten.count(id), 0u) << id;
  }
  EXPECT_GT(second_served, 0);
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0);
}

TEST_F(WorkerProcessTest, CancellationMidRunLeavesTheModelUnchanged) {
  std::string req = fx_->AddItemsRequest(model_, {Item(7), Item(8)}, kLong);
  auto w = Start("w", {"--eval-every=1000"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return fx_->Scalar("SELECT phase FROM forget_requests WHERE id = '" + req + "'") ==
               "unlearning";
      },
      60))
      << w->Log();
  std::string before = Production();
  fx_->Scalar("UPDATE forget_requests SET cancel_requested = true WHERE id = '" + req + "'");
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 30)) << w->Log();
  EXPECT_EQ(State(req), "cancelled");
  EXPECT_EQ(Production(), before);
  EXPECT_EQ(Versions(), 1);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ + "'"), 0);
  EXPECT_EQ(fx_->Scalar("SELECT j.state FROM jobs j JOIN job_requests jr ON jr.job_id = j.id WHERE "
                        "jr.request_id = '" +
                        req + "'"),
            "cancelled");
  EXPECT_EQ(
      fx_->Count(
          "SELECT count(*) FROM audit_log WHERE action = 'request.cancelled' AND request_id = '" +
          req + "'"),
      1);
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0);
}

TEST_F(WorkerProcessTest, MissedDestinationIsEscalatedNeverCompletedSilently) {
  // Policy "retrain": the unlearning job fails, an exact retraining job publishes.
  std::string req = fx_->AddItemsRequest(model_, {Item(9), Item(19), Item(29)}, kUnreachable);
  auto w = Start("w", {"--eval-every=1", "--on-destination-miss=retrain"});
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 120)) << w->Log();
  ASSERT_EQ(State(req), "completed") << w->Log();
  EXPECT_EQ(
      fx_->Scalar(
          "SELECT result->'report'->'destination'->>'metric' FROM forget_requests WHERE id = '" +
          req + "'"),
      "exact_retraining");
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM jobs j JOIN job_requests jr ON jr.job_id = j.id WHERE "
                       "jr.request_id = '" +
                       req + "' AND j.kind = 'unlearn' AND j.state = 'failed'"),
            1);
  EXPECT_EQ(
      fx_->Scalar("SELECT j.kind FROM jobs j JOIN model_versions v ON v.job = j.id WHERE v.id = " +
                  Production()),
      "retrain");
  EXPECT_EQ(
      fx_->Count(
          "SELECT count(*) FROM audit_log WHERE action = 'request.escalated' AND request_id = '" +
          req + "'"),
      1);
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0);

  // Policy "fail": the request fails with the full report; the model is unchanged.
  std::string before = Production();
  std::string failing = fx_->AddItemsRequest(model_, {Item(39)}, kUnreachable);
  auto f = Start("f", {"--eval-every=1", "--on-destination-miss=fail"});
  ASSERT_TRUE(WaitUntil([&] { return Terminal(failing); }, 90)) << f->Log();
  EXPECT_EQ(State(failing), "failed");
  std::string result =
      fx_->Scalar("SELECT result::text FROM forget_requests WHERE id = '" + failing + "'");
  EXPECT_EQ(
      fx_->Scalar(
          "SELECT result->'report'->>'destination_reached' FROM forget_requests WHERE id = '" +
          failing + "'"),
      "false")
      << result;
  EXPECT_NE(
      fx_->Scalar("SELECT result->'report'->'after'->>'auc_u' FROM forget_requests WHERE id = '" +
                  failing + "'"),
      "");
  EXPECT_EQ(Production(), before);
  f->Signal(SIGTERM);
  EXPECT_EQ(f->Wait(20), 0);
}

TEST_F(WorkerProcessTest, RequestThatCannotBeServedFailsPreciselyAndChangesNothing) {
  auto w = Start("w");
  // An item the data set does not have (the server matched it against another manifest).
  std::string missing =
      fx_->AddItemsRequest(model_, {{"train/99999", testing::Hex64('0'), std::nullopt}}, kEasy);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(missing); }, 60)) << w->Log();
  EXPECT_EQ(State(missing), "failed");
  std::string error =
      fx_->Scalar("SELECT result->>'error' FROM forget_requests WHERE id = '" + missing + "'");
  EXPECT_NE(error.find("train/99999"), std::string::npos) << error;
  // An upload whose bytes do not match the hash recorded at submission.
  std::string corrupt = fx_->AddItemsRequest(
      model_, {{std::nullopt, testing::Hex64('1'), testing::NovelImagePng(2)}}, kEasy);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(corrupt); }, 60)) << w->Log();
  EXPECT_EQ(State(corrupt), "failed");
  error = fx_->Scalar("SELECT result->>'error' FROM forget_requests WHERE id = '" + corrupt + "'");
  EXPECT_NE(error.find("SHA-256"), std::string::npos) << error;
  // Nothing was published or tombstoned, the uploaded bytes are gone, the worker lives on.
  EXPECT_EQ(Versions(), 1);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ + "'"), 0);
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND "
                       "request_id = '" +
                       corrupt + "'"),
            0);
  std::string ok = fx_->AddItemsRequest(model_, {Item(12), Item(13)}, kEasy);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(ok); }, 60)) << w->Log();
  EXPECT_EQ(State(ok), "completed");
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0);
}

TEST_F(WorkerProcessTest, ModelTrainedOnAPrefixRetainsOnlyThatPrefix) {
  // A second model, trained on the first 200 of the 400 items (`train --limit 200`).
  std::string model = model_ + "-prefix";
  auto store = DirectoryModelStore::Create(store_dir_);
  ASSERT_TRUE(store.ok());
  Json manifest = Json::Parse(ReadFile(JoinPath(assets_->prefix_checkpoint_dir, "manifest.json")));
  std::map<std::string, std::string> files;
  for (const auto& [name, sha] : manifest.at("files").items()) files[name] = sha.AsString();
  std::string digest =
      Sha256Hex(ReadFile(JoinPath(assets_->prefix_checkpoint_dir, "manifest.json")));
  auto key = (*store)->PutVersion(model, digest, assets_->prefix_checkpoint_dir, files);
  ASSERT_TRUE(key.ok()) << key.status();
  fx_->AddModel(model, digest, *key, 8, 10, manifest.at("dataset").GetString("name", ""),
                manifest.at("dataset").GetString("fingerprint", ""));
  auto w = Start("w");
  std::string req = fx_->AddItemsRequest(model, {Item(3), Item(5), Item(8)}, kEasy);
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 60)) << w->Log();
  ASSERT_EQ(State(req), "completed")
      << fx_->Scalar("SELECT result::text FROM forget_requests WHERE id = '" + req + "'");
  EXPECT_EQ(fx_->Scalar("SELECT result->'report'->'data'->>'retained_items' FROM "
                        "forget_requests WHERE id = '" +
                        req + "'"),
            std::to_string(assets_->prefix_items - 3));
  // Only items of the prefix were served as retained data.
  std::string job = fx_->Scalar("SELECT job_id FROM job_requests WHERE request_id = '" + req + "'");
  std::istringstream lines(ReadAll(dir_ + "/served-" + model_ + ".log"));
  std::string line_job, id;
  int served = 0;
  while (lines >> line_job >> id) {
    if (line_job != job) continue;
    ++served;
    EXPECT_LT(std::stoll(id.substr(id.find('/') + 1)), assets_->prefix_items) << id;
  }
  EXPECT_GT(served, 0);
  w->Signal(SIGTERM);
  EXPECT_EQ(w->Wait(20), 0);
}

TEST_F(WorkerProcessTest, SigtermReleasesTheRunningJobForAnotherWorker) {
  std::string req = fx_->AddItemsRequest(model_, {Item(11)}, kLong);
  auto a = Start("a", {"--eval-every=1000"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return fx_->Scalar("SELECT phase FROM forget_requests WHERE id = '" + req + "'") ==
               "unlearning";
      },
      60))
      << a->Log();
  std::string job = fx_->Scalar("SELECT job_id FROM job_requests WHERE request_id = '" + req + "'");
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(30), 0) << a->Log();
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job + "'"), "queued");
  EXPECT_EQ(State(req), "running");
  auto b = Start("b");
  ASSERT_TRUE(WaitUntil([&] { return Terminal(req); }, 90)) << b->Log();
  EXPECT_EQ(State(req), "completed");
  EXPECT_EQ(fx_->Scalar("SELECT attempt FROM jobs WHERE id = '" + job + "'"), "2");
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(20), 0);
}

}  // namespace
}  // namespace lethe::worker
