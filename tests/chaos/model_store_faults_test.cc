// Model store faults during publishing: a file system that runs out of space on a chosen
// call (create, write, fsync, directory fsync, rename), injected into DirectoryModelStore
// through its StoreEnv. The store alone must leave nothing half-written; a worker's job that
// meets the fault must be retried and complete when the fault passes, or fail with the
// error when it does not, with the production version unchanged and no version row, no
// version directory and no temporary files left.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>

#include "common/logging.h"
#include "common/model_store.h"
#include "common/model_store_env.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "tests/integration/worker_test_support.h"
#include "worker/executor.h"
#include "worker/job_runner.h"
#include "worker/job_store.h"

namespace lethe {
namespace {

// Which call of the store's file system a fault hits.
enum class Op { kCreateDirs, kCreate, kWrite, kFsync, kSyncDir, kRename };

const char* OpName(Op op) {
  switch (op) {
    case Op::kCreateDirs:
      return "mkdir";
    case Op::kCreate:
      return "create";
    case Op::kWrite:
      return "write";
    case Op::kFsync:
      return "fsync";
    case Op::kSyncDir:
      return "fsync directory";
    case Op::kRename:
      return "rename";
  }
  return "?";
}

// The POSIX store environment, except that calls number [first, first + times) of one kind
// (1-based, counted since the fault was set) fail with `err`. A failing write first writes
// half of its data, as a disk that fills up mid-write does.
class FaultyStoreEnv : public StoreEnv {
 public:
  void Fail(Op op, int first, int times, int err = ENOSPC) {
    std::lock_guard<std::mutex> lock(mu_);
    fault_ = Fault{op, first, times, err};
    calls_.clear();
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    fault_.reset();
  }
  int injected() const { return injected_.load(); }

  absl::Status CreateDirs(const std::string& path) override {
    if (auto s = Hit(Op::kCreateDirs, path); !s.ok()) return s;
    return real_->CreateDirs(path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (auto s = Hit(Op::kCreate, path); !s.ok()) return s;
    auto file = real_->NewWritableFile(path);
    if (!file.ok()) return file.status();
    return std::unique_ptr<WritableFile>(new File(this, std::move(*file), path));
  }
  absl::Status SyncDir(const std::string& path) override {
    if (auto s = Hit(Op::kSyncDir, path); !s.ok()) return s;
    return real_->SyncDir(path);
  }
  absl::Status RenameDir(const std::string& from, const std::string& to) override {
    if (auto s = Hit(Op::kRename, to); !s.ok()) return s;
    return real_->RenameDir(from, to);
  }
  absl::Status RemoveAll(const std::string& path) override { return real_->RemoveAll(path); }

 private:
  struct Fault {
    Op op;
    int first, times, err;
  };
  class File : public WritableFile {
   public:
    File(FaultyStoreEnv* env, std::unique_ptr<WritableFile> real, std::string path)
        : env_(env), real_(std::move(real)), path_(std::move(path)) {}
    absl::Status Append(std::string_view data) override {
      absl::Status s = env_->Hit(Op::kWrite, path_);
      if (!s.ok()) {
        (void)real_->Append(data.substr(0, data.size() / 2));
        return s;
      }
      return real_->Append(data);
    }
    absl::Status Sync() override {
      if (auto s = env_->Hit(Op::kFsync, path_); !s.ok()) return s;
      return real_->Sync();
    }
    absl::Status Close() override { return real_->Close(); }

   private:
    FaultyStoreEnv* env_;
    std::unique_ptr<WritableFile> real_;
    std::string path_;
  };

  absl::Status Hit(Op op, const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = ++calls_[op];
    if (!fault_ || fault_->op != op || n < fault_->first || n >= fault_->first + fault_->times) {
      return absl::OkStatus();
    }
    ++injected_;
    return StoreErrnoStatus(fault_->err, OpName(op), path);
  }

  std::unique_ptr<StoreEnv> real_ = NewPosixStoreEnv();
  std::mutex mu_;
  std::optional<Fault> fault_;
  std::map<Op, int> calls_;
  std::atomic<int> injected_{0};
};

std::string TempRoot(const std::string& what) {
  std::string dir = std::filesystem::temp_directory_path().string() + "/lethe-store-faults-" +
                    what + "-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  MakeDirs(dir);
  return dir;
}

// Names in `dir` (none when it does not exist).
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// A version directory as the engine leaves it: weights, a report and a manifest.
struct SourceVersion {
  std::string dir, digest;
  std::map<std::string, std::string> files;
};

SourceVersion MakeSourceVersion(const std::string& dir, int seed) {
  SourceVersion v;
  v.dir = dir;
  MakeDirs(dir);
  std::mt19937 rng{uint32_t(seed)};
  std::string weights(3 << 20, '\0');  // several 1 MiB copy chunks
  for (auto& c : weights) c = char(rng());
  WriteFileAtomic(JoinPath(dir, "generator.pt"), weights);
  WriteFileAtomic(JoinPath(dir, "report.json"), "{\"seed\": " + std::to_string(seed) + "}\n");
  Json manifest = Json::Object();
  Json files = Json::Object();
  for (const char* name : {"generator.pt", "report.json"}) {
    v.files[name] = Sha256Hex(ReadFile(JoinPath(dir, name)));
    files[name] = v.files[name];
  }
  manifest["files"] = files;
  manifest["seed"] = seed;
  std::string text = manifest.Dump();
  WriteFileAtomic(JoinPath(dir, "manifest.json"), text);
  v.digest = Sha256Hex(text);
  return v;
}

// ---------------------------------------------------------------------------------------
// The store alone: every failing call leaves no version and no temporary directory.

struct FaultCase {
  Op op;
  int nth;
};

class StoreFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(StoreFaultTest, FailedPutLeavesNothingAndALaterPutSucceeds) {
  const FaultCase fc = GetParam();
  std::string root =
      TempRoot(std::string("unit-") + std::to_string(int(fc.op)) + "-" + std::to_string(fc.nth));
  auto env = std::make_shared<FaultyStoreEnv>();
  auto store = DirectoryModelStore::Create(root + "/store", env);
  ASSERT_TRUE(store.ok()) << store.status();
  SourceVersion v = MakeSourceVersion(root + "/src", 1);

  env->Fail(fc.op, fc.nth, 1);
  auto key = (*store)->PutVersion("m", v.digest, v.dir, v.files);
  ASSERT_FALSE(key.ok()) << OpName(fc.op) << " #" << fc.nth << " did not fail the put";
  EXPECT_EQ(env->injected(), 1);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kResourceExhausted) << key.status();
  EXPECT_NE(key.status().message().find("No space left on device"), std::string::npos)
      << key.status();
  EXPECT_NE(key.status().message().find(OpName(fc.op)), std::string::npos) << key.status();
  // Nothing visible, nothing left over.
  EXPECT_FALSE((*store)->HasFile("m/" + v.digest, "manifest.json"));
  EXPECT_TRUE(Entries(root + "/store/m").empty())
      << "left behind: " << ::testing::PrintToString(Entries(root + "/store/m"));

  // The fault passes: the same put succeeds and the files are intact.
  env->Clear();
  key = (*store)->PutVersion("m", v.digest, v.dir, v.files);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "m/" + v.digest);
  for (const auto& [name, sha] : v.files) {
    auto bytes = (*store)->ReadWhole(*key, name);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(Sha256Hex(*bytes), sha) << name;
  }
  EXPECT_EQ(Entries(root + "/store/m"), std::vector<std::string>{v.digest});
  std::filesystem::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, StoreFaultTest,
                         ::testing::Values(FaultCase{Op::kCreateDirs, 1}, FaultCase{Op::kCreate, 1},
                                           FaultCase{Op::kCreate, 3}, FaultCase{Op::kWrite, 1},
                                           FaultCase{Op::kWrite, 3}, FaultCase{Op::kFsync, 1},
                                           FaultCase{Op::kFsync, 3}, FaultCase{Op::kSyncDir, 1},
                                           FaultCase{Op::kRename, 1}),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           std::string name = OpName(info.param.op);
                           for (auto& c : name) {
                             if (c == ' ') c = '_';
                           }
                           return name + "_" + std::to_string(info.param.nth);
                         });

TEST(StoreFaultTest, FailedFsyncOfTheModelDirectoryIsReportedAndARetryMakesItDurable) {
  std::string root = TempRoot("dirsync");
  auto env = std::make_shared<FaultyStoreEnv>();
  auto store = DirectoryModelStore::Create(root + "/store", env);
  ASSERT_TRUE(store.ok());
  SourceVersion v = MakeSourceVersion(root + "/src", 2);
  env->Fail(Op::kSyncDir, 2, 1);  // the first syncs the temporary directory, the second its parent
  auto key = (*store)->PutVersion("m", v.digest, v.dir, v.files);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kResourceExhausted);
  // The retry finds the version in place and syncs the parent again: failing that sync
  // fails the retry too.
  env->Fail(Op::kSyncDir, 1, 1);
  key = (*store)->PutVersion("m", v.digest, v.dir, v.files);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(env->injected(), 2);
  env->Clear();
  key = (*store)->PutVersion("m", v.digest, v.dir, v.files);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE((*store)->HasFile(*key, "generator.pt"));
  EXPECT_EQ(Entries(root + "/store/m"), std::vector<std::string>{v.digest});
  std::filesystem::remove_all(root);
}

// ---------------------------------------------------------------------------------------
// A worker's job meeting the faults: retried, then completed or failed cleanly.

// Stands in for the engine: writes a new version under the work directory.
class FakeExecutor : public worker::JobExecutor {
 public:
  absl::StatusOr<worker::ExecutionResult> Execute(const worker::JobInputs& inputs,
                                                  const std::string&, const std::string& work_dir,
                                                  const ProgressFn& progress,
                                                  CancelToken*) override {
    int n = ++calls_;
    worker::ProgressUpdate update;
    update.phase = worker::Phase::kUnlearning;
    update.iteration = 1;
    update.budget = 1;
    progress(update);
    SourceVersion v = MakeSourceVersion(JoinPath(work_dir, "version"), 100 + n);
    last_digest_ = v.digest;
    worker::ExecutionResult r;
    r.destination_reached = true;
    r.version_dir = v.dir;
    r.digest = v.digest;
    r.files = v.files;
    r.metrics_after["auc_u"] = 0.9;
    r.verdict["reached"] = true;
    r.report["destination_reached"] = true;
    r.forgotten = worker::ForgottenItemsOf(inputs.requests);
    r.iterations = 1;
    return r;
  }
  int calls() const { return calls_.load(); }
  std::string last_digest() const { return last_digest_; }

 private:
  std::atomic<int> calls_{0};
  std::string last_digest_;
};

class PublishFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_name_ = "lethe_store_faults_" + std::to_string(getpid());
    url_ = worker::testing::CreateTestDatabase(db_name_);
  }
  static void TearDownTestSuite() { worker::testing::DropTestDatabase(db_name_); }

  void SetUp() override {
    ASSERT_FALSE(url_.empty());
    pool_ = worker::testing::MakePool(url_);
    fx_ = std::make_unique<worker::testing::Fixture>(url_);
    model_ = "f" + std::to_string(++counter_);
    root_ = TempRoot("publish-" + model_);
    env_ = std::make_shared<FaultyStoreEnv>();
    auto store = DirectoryModelStore::Create(root_ + "/store", env_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    SourceVersion base = MakeSourceVersion(root_ + "/base", 0);
    auto key = store_->PutVersion(model_, base.digest, base.dir, base.files);
    ASSERT_TRUE(key.ok()) << key.status();
    base_version_ = fx_->AddModel(model_, base.digest, *key);
    base_digest_ = base.digest;
    request_ = fx_->AddItemsRequest(model_, {{"train/1", worker::testing::Hex64('1'), {}}});
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Claims the request's job and runs it to its end with short retry delays.
  std::string RunJob() {
    worker::JobStore jobs(pool_.get(), "faulty-disk");
    worker::ClaimOptions claim;
    claim.lease_seconds = 30;
    auto claimed = jobs.ClaimNext(claim);
    EXPECT_TRUE(claimed.ok() && claimed->job) << claimed.status();
    if (!claimed.ok() || !claimed->job) return "";
    job_ = claimed->job->lease.job_id;
    worker::RunnerOptions options;
    options.lease_seconds = 30;
    options.heartbeat_seconds = 1;
    options.backoff.initial_seconds = 0.01;
    options.backoff.max_seconds = 0.02;
    options.backoff.max_retries = 2;
    options.work_dir = root_ + "/work";
    Logger log("chaos-test", LogLevel::kError);
    worker::JobRunner runner(&jobs, store_.get(), &executor_, &log, nullptr, options);
    return runner.Run(*claimed->job);
  }

  std::string Production() {
    return fx_->Scalar("SELECT production_version FROM models WHERE name = '" + model_ + "'");
  }
  std::vector<std::string> TempDirs() {
    std::vector<std::string> out;
    for (const std::string& e : Entries(root_ + "/store/" + model_)) {
      if (e.rfind(DirectoryModelStore::kTempPrefix, 0) == 0) out.push_back(e);
    }
    return out;
  }

  static std::string db_name_, url_;
  static int counter_;
  std::unique_ptr<DbPool> pool_;
  std::unique_ptr<worker::testing::Fixture> fx_;
  std::string model_, root_, request_, job_, base_digest_;
  int64_t base_version_ = 0;
  std::shared_ptr<FaultyStoreEnv> env_;
  std::unique_ptr<DirectoryModelStore> store_;
  FakeExecutor executor_;
};

std::string PublishFaultTest::db_name_;
std::string PublishFaultTest::url_;
int PublishFaultTest::counter_ = 0;

TEST_F(PublishFaultTest, DiskFullForAWhileIsRetriedAndTheJobCompletes) {
  env_->Fail(Op::kWrite, 1, 2);  // the first two attempts to store the version fail
  EXPECT_EQ(RunJob(), "published");
  EXPECT_EQ(env_->injected(), 2);
  EXPECT_EQ(executor_.calls(), 1) << "a store retry must not re-run the engine";
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + request_ + "'"),
            "completed");
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job_ + "'"), "succeeded");
  std::string version = fx_->Scalar("SELECT id FROM model_versions WHERE job = '" + job_ + "'");
  ASSERT_NE(version, "");
  EXPECT_EQ(Production(), version);
  EXPECT_TRUE(store_->HasFile(model_ + "/" + executor_.last_digest(), "generator.pt"));
  EXPECT_TRUE(TempDirs().empty()) << ::testing::PrintToString(TempDirs());
}

TEST_F(PublishFaultTest, DiskFullThatDoesNotPassFailsTheJobAndChangesNothing) {
  env_->Fail(Op::kRename, 1, 1000);
  EXPECT_EQ(RunJob(), "failed");
  // Store retries inside each attempt, and the job itself retried before giving up.
  EXPECT_EQ(executor_.calls(), 3);
  EXPECT_EQ(env_->injected(), 9);
  EXPECT_EQ(fx_->Scalar("SELECT state FROM jobs WHERE id = '" + job_ + "'"), "failed");
  std::string job_error = fx_->Scalar("SELECT error FROM jobs WHERE id = '" + job_ + "'");
  EXPECT_NE(job_error.find("No space left on device"), std::string::npos) << job_error;
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + request_ + "'"),
            "failed");
  std::string request_error =
      fx_->Scalar("SELECT result->>'error' FROM forget_requests WHERE id = '" + request_ + "'");
  EXPECT_NE(request_error.find("No space left on device"), std::string::npos) << request_error;
  // The production alias is unchanged, no version row, no version directory, no temp files.
  EXPECT_EQ(Production(), std::to_string(base_version_));
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'"), 1);
  EXPECT_EQ(Entries(root_ + "/store/" + model_), std::vector<std::string>{base_digest_});
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM tombstones WHERE model = '" + model_ + "'"), 0);
}

TEST_F(PublishFaultTest, FsyncFailureOnEveryTryFailsTheJobCleanly) {
  env_->Fail(Op::kFsync, 1, 1000);
  EXPECT_EQ(RunJob(), "failed");
  EXPECT_EQ(fx_->Scalar("SELECT state FROM forget_requests WHERE id = '" + request_ + "'"),
            "failed");
  EXPECT_EQ(Production(), std::to_string(base_version_));
  EXPECT_EQ(fx_->Count("SELECT count(*) FROM model_versions WHERE model = '" + model_ + "'"), 1);
  EXPECT_EQ(Entries(root_ + "/store/" + model_), std::vector<std::string>{base_digest_});
}

}  // namespace
}  // namespace lethe
