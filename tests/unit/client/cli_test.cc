// Whole lethectl command lines against an in-process fake of the four services: what goes
// over the wire (flags -> request fields, bearer token, deadlines), what comes out (tables,
// one JSON document, one error line) and the exit statuses.
#include "client/cli.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "client/rpc_error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace lethe::cli {
namespace {

namespace pb = lethe::v1;

grpc::Status Error(grpc::StatusCode code, const std::string& message, const std::string& reason) {
  google::rpc::ErrorInfo d;
  d.set_reason(reason);
  d.set_domain("lethe.v1");
  google::rpc::Status rpc_status;
  rpc_status.set_code(int(code));
  rpc_status.set_message(message);
  rpc_status.add_details()->PackFrom(d);
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

struct Seen {
  std::mutex mu;
  std::vector<std::string> authorization;
  std::vector<double> deadline_seconds;
  pb::SubmitForgetRequestRequest submit;
  std::vector<pb::ListForgetRequestsRequest> lists;

  void Record(grpc::ServerContext* ctx) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = ctx->client_metadata().find("authorization");
    authorization.push_back(it == ctx->client_metadata().end()
                                ? ""
                                : std::string(it->second.data(), it->second.size()));
    deadline_seconds.push_back(
        std::chrono::duration<double>(ctx->deadline() - std::chrono::system_clock::now()).count());
  }
};

pb::ForgetRequest MakeRequest(const std::string& id, pb::RequestState state) {
  pb::ForgetRequest r;
  r.set_id(id);
  r.set_model("fmnist");
  r.set_kind(pb::FORGET_KIND_ITEMS);
  r.set_state(state);
  r.set_item_count(1);
  return r;
}

class FakeUnlearning final : public pb::Unlearning::Service {
 public:
  explicit FakeUnlearning(Seen* seen) : seen_(seen) {}
  std::vector<pb::ForgetRequest> watch_script;

  grpc::Status SubmitForgetRequest(grpc::ServerContext* ctx,
                                   const pb::SubmitForgetRequestRequest* req,
                                   pb::ForgetRequest* out) override {
    seen_->Record(ctx);
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->submit = *req;
    }
    if (req->model() != "fmnist") {
      return Error(grpc::StatusCode::NOT_FOUND, "model \"" + req->model() + "\" not found",
                   "MODEL_NOT_FOUND");
    }
    *out = MakeRequest("r-new", pb::REQUEST_STATE_QUEUED);
    out->set_request_id(req->request_id());
    return grpc::Status::OK;
  }
  grpc::Status GetForgetRequest(grpc::ServerContext* ctx, const pb::GetForgetRequestRequest* req,
                                pb::ForgetRequest* out) override {
    seen_->Record(ctx);
    if (req->id() != "r-1") {
      return Error(grpc::StatusCode::NOT_FOUND, "forget request " + req->id() + " not found",
                   "REQUEST_NOT_FOUND");
    }
    *out = MakeRequest("r-1", pb::REQUEST_STATE_COMPLETED);
    out->mutable_result()->set_model_version_id(2);
    out->mutable_result()->set_report_json(
        "{\"destination\": {\"reached\": true, \"metric\": \"auc_u\", \"threshold\": 0.8, "
        "\"value\": 0.9}}");
    auto* item = out->add_items();
    item->set_item_id("train/1");
    item->set_sha256(std::string(64, 'a'));
    return grpc::Status::OK;
  }
  // Three pages of two requests each.
  grpc::Status ListForgetRequests(grpc::ServerContext* ctx,
                                  const pb::ListForgetRequestsRequest* req,
                                  pb::ListForgetRequestsResponse* out) override {
    seen_->Record(ctx);
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->lists.push_back(*req);
    }
    int page = req->page_token().empty() ? 0 : std::stoi(req->page_token().substr(1));
    for (int i = 0; i < 2; ++i) {
      *out->add_forget_requests() =
          MakeRequest("r-" + std::to_string(page * 2 + i), pb::REQUEST_STATE_QUEUED);
    }
    if (page < 2) out->set_next_page_token("p" + std::to_string(page + 1));
    return grpc::Status::OK;
  }
  grpc::Status WatchForgetRequest(grpc::ServerContext* ctx,
                                  const pb::WatchForgetRequestRequest* req,
                                  grpc::ServerWriter<pb::ForgetRequest>* writer) override {
    seen_->Record(ctx);
    for (pb::ForgetRequest r : watch_script) {
      r.set_id(req->id());
      writer->Write(r);
    }
    return grpc::Status::OK;
  }

 private:
  Seen* seen_;
};

class FakeModels final : public pb::Models::Service {
 public:
  std::string weights = std::string(5000, 'w');
  bool corrupt = false;
  bool sample_corrupt = false;

  grpc::Status DownloadModelVersion(grpc::ServerContext*, const pb::DownloadModelVersionRequest*,
                                    grpc::ServerWriter<pb::DownloadChunk>* writer) override {
    pb::DownloadChunk c;
    c.set_version_id(2);
    c.set_version_sha256("unused-for-single-files");
    c.set_file_name("generator.pt");
    c.set_file_size(static_cast<int64_t>(weights.size()));
    c.set_file_sha256(Sha256Hex(weights));
    for (size_t off = 0; off < weights.size(); off += 2048) {
      c.set_offset(static_cast<int64_t>(off));
      std::string data = weights.substr(off, 2048);
      if (corrupt && off == 2048) data[0] ^= 1;
      c.set_data(data);
      c.set_last(off + 2048 >= weights.size());
      writer->Write(c);
    }
    return grpc::Status::OK;
  }
  grpc::Status GetModel(grpc::ServerContext*, const pb::GetModelRequest* req,
                        pb::Model* out) override {
    out->set_name(req->name());
    auto* v2 = out->add_versions();
    v2->set_id(2);
    v2->set_parent_id(1);
    v2->set_has_sample(true);
    out->add_versions()->set_id(1);
    return grpc::Status::OK;
  }
  grpc::Status Sample(grpc::ServerContext*, const pb::SampleRequest* req,
                      pb::SampleResponse* out) override {
    if (sample_corrupt) {
      return Error(grpc::StatusCode::DATA_LOSS, "the stored file does not match its hash",
                   "STORED_FILE_CORRUPT");
    }
    out->set_version_id(req->version_id());
    out->set_png("\x89PNG fake grid");
    out->set_sha256(Sha256Hex(out->png()));
    return grpc::Status::OK;
  }
};

class FakeAudit final : public pb::Audit::Service {
 public:
  grpc::Status ListAuditRecords(grpc::ServerContext*, const pb::ListAuditRecordsRequest* req,
                                pb::ListAuditRecordsResponse* out) override {
    pb::AuditRecord* r = out->add_records();
    r->set_seq(1);
    r->set_action("request.received");
    r->set_actor("server");
    r->set_request_id(req->request_id());
    r->set_payload_json("{}");
    r->set_prev_hash(std::string(64, '0'));
    r->set_hash("deliberately-wrong");
    return grpc::Status::OK;
  }
  grpc::Status VerifyAuditChain(grpc::ServerContext*, const pb::VerifyAuditChainRequest*,
                                pb::VerifyAuditChainResponse* out) override {
    out->set_ok(false);
    out->set_first_bad_seq(4);
    out->set_reason("hash mismatch");
    return grpc::Status::OK;
  }
};

class FakeTokens final : public pb::Tokens::Service {
 public:
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const pb::WhoAmIRequest*,
                      pb::ApiToken* out) override {
    auto it = ctx->client_metadata().find("authorization");
    if (it == ctx->client_metadata().end()) {
      return Error(grpc::StatusCode::UNAUTHENTICATED, "missing bearer token", "NO_TOKEN");
    }
    out->set_id(9);
    out->set_name("alice");
    out->set_role(pb::ROLE_DPO);
    return grpc::Status::OK;
  }
  grpc::Status CreateToken(grpc::ServerContext*, const pb::CreateTokenRequest*,
                           pb::CreateTokenResponse*) override {
    return Error(grpc::StatusCode::PERMISSION_DENIED, "role dpo may not create tokens",
                 "PERMISSION_DENIED");
  }
};

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&unlearning_);
    builder.RegisterService(&models_);
    builder.RegisterService(&audit_);
    builder.RegisterService(&tokens_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    dir_ = testing::TempDir() + "/lethectl_cli_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  int Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    out_.str("");
    err_.str("");
    Io io;
    io.out = &out_;
    io.err = &err_;
    io.out_is_tty = false;
    io.now = [this] { return clock_; };
    io.sleep = [this](double s) { clock_ += s; };
    auto lookup = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    auto open =
        [this](
            const ConnectionOptions& o) -> absl::StatusOr<std::shared_ptr<grpc::ChannelInterface>> {
      last_options_ = o;
      return std::static_pointer_cast<grpc::ChannelInterface>(channel_);
    };
    return RunCli(args, io, lookup, open);
  }

  Seen seen_;
  FakeUnlearning unlearning_{&seen_};
  FakeModels models_;
  FakeAudit audit_;
  FakeTokens tokens_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::ostringstream out_, err_;
  ConnectionOptions last_options_;
  double clock_ = 1000;
  std::string dir_;
};

TEST_F(CliTest, ListAllFollowsEveryPageIntoOneJsonDocument) {
  EXPECT_EQ(Run({"list", "--all", "--json", "--state", "queued", "--model", "fmnist", "--page-size",
                 "2", "--token", "s3cret", "--timeout", "5s"}),
            0)
      << err_.str();
  Json doc = Json::Parse(out_.str());
  ASSERT_EQ(doc.at("forget_requests").size(), 6u);
  EXPECT_EQ(doc.at("forget_requests")[5].at("id").AsString(), "r-5");
  EXPECT_EQ(doc.at("next_page_token").AsString(), "");
  ASSERT_EQ(seen_.lists.size(), 3u);
  EXPECT_EQ(seen_.lists[0].state(), pb::REQUEST_STATE_QUEUED);
  EXPECT_EQ(seen_.lists[0].model(), "fmnist");
  EXPECT_EQ(seen_.lists[0].page_size(), 2);
  EXPECT_EQ(seen_.lists[2].page_token(), "p2");
  for (const std::string& auth : seen_.authorization) EXPECT_EQ(auth, "Bearer s3cret");
  for (double d : seen_.deadline_seconds) {
    EXPECT_GT(d, 3.0);
    EXPECT_LE(d, 5.01);  // the transport rounds deadlines up slightly
  }
}

TEST_F(CliTest, ListWithoutAllShowsOnePageAndTheNextToken) {
  EXPECT_EQ(Run({"list"}), 0);
  EXPECT_NE(out_.str().find("r-1"), std::string::npos);
  EXPECT_EQ(out_.str().find("r-2"), std::string::npos);
  EXPECT_NE(err_.str().find("--page-token p1"), std::string::npos);
  EXPECT_EQ(seen_.lists.size(), 1u);
}

TEST_F(CliTest, NotFoundIsOneLineWithReasonAndExit3) {
  EXPECT_EQ(Run({"get", "nope"}), kExitNotFound);
  EXPECT_EQ(err_.str(),
            "lethectl: NOT_FOUND: forget request nope not found [reason=REQUEST_NOT_FOUND]\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CliTest, GetPrintsTheRequest) {
  EXPECT_EQ(Run({"get", "r-1"}), 0);
  EXPECT_NE(out_.str().find("completed"), std::string::npos);
  EXPECT_NE(out_.str().find("train/1"), std::string::npos);
}

TEST_F(CliTest, SubmitGeneratesAndPrintsTheRequestIdItSends) {
  EXPECT_EQ(Run({"submit", "item", "--model", "fmnist", "--item", "train/1", "train/2"}), 0)
      << err_.str();
  const std::string sent = seen_.submit.request_id();
  ASSERT_EQ(sent.size(), 36u);
  EXPECT_NE(err_.str().find("--request-id " + sent), std::string::npos);
  EXPECT_EQ(seen_.submit.items().item_ids_size(), 2);
  EXPECT_NE(out_.str().find(sent), std::string::npos);
}

TEST_F(CliTest, SubmitErrorsMapToExitStatuses) {
  EXPECT_EQ(Run({"submit", "item", "--model", "other", "--item", "a", "--request-id",
                 "123e4567-e89b-42d3-a456-426614174000"}),
            kExitNotFound);
  EXPECT_NE(err_.str().find("NOT_FOUND: model \"other\" not found [reason=MODEL_NOT_FOUND]"),
            std::string::npos);
  // No generated id is announced when the caller chose one.
  EXPECT_EQ(err_.str().find("to retry"), std::string::npos);
  EXPECT_EQ(Run({"submit", "item", "--model", "fmnist"}), kExitUsage);
  EXPECT_NE(err_.str().find("nothing to forget"), std::string::npos);
}

TEST_F(CliTest, UsageErrors) {
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_EQ(Run({"get"}), kExitUsage);
  EXPECT_NE(err_.str().find("missing argument"), std::string::npos);
  EXPECT_EQ(Run({"get", "a", "b"}), kExitUsage);
  EXPECT_EQ(Run({"list", "--state", "sleeping"}), kExitUsage);
  EXPECT_NE(err_.str().find("--state: expected one of"), std::string::npos);
  EXPECT_EQ(Run({"list", "--timeout", "never"}), kExitUsage);
  EXPECT_EQ(Run({"extend", "r-1", "--days", "61", "--reason", "x"}), kExitUsage);
  EXPECT_EQ(Run({"whoami", "--insecure", "--tls-ca", "ca.pem"}), kExitUsage);
  EXPECT_EQ(Run({"models", "--help"}), kExitUsage);
  EXPECT_EQ(Run({"models", "list", "--help"}), 0);
  EXPECT_NE(out_.str().find("usage: lethectl models list"), std::string::npos);
}

TEST_F(CliTest, ConnectionFromEnvironmentAndFlags) {
  EXPECT_EQ(Run({"whoami"},
                {{"LETHE_SERVER", "env:1"}, {"LETHE_TOKEN", "envtoken"}, {"LETHE_INSECURE", "1"}}),
            0);
  EXPECT_EQ(last_options_.server, "env:1");
  EXPECT_EQ(last_options_.token, "envtoken");
  EXPECT_TRUE(last_options_.insecure);
  EXPECT_NE(out_.str().find("alice"), std::string::npos);
  EXPECT_EQ(Run({"whoami", "--server", "flag:2", "--token", "flagtoken"},
                {{"LETHE_SERVER", "env:1"}, {"LETHE_TOKEN", "envtoken"}}),
            0);
  EXPECT_EQ(last_options_.server, "flag:2");
  EXPECT_EQ(last_options_.token, "flagtoken");
  EXPECT_FALSE(last_options_.insecure);
  EXPECT_EQ(Run({"whoami"}), kExitPermission);  // no token at all
  EXPECT_NE(err_.str().find("UNAUTHENTICATED"), std::string::npos);
  EXPECT_EQ(last_options_.server, kDefaultServer);
}

TEST_F(CliTest, PermissionDeniedExit4) {
  EXPECT_EQ(Run({"token", "create", "--name", "x", "--role", "dpo", "--token", "t"}),
            kExitPermission);
  EXPECT_NE(err_.str().find("PERMISSION_DENIED: role dpo may not create tokens"),
            std::string::npos);
}

TEST_F(CliTest, WatchExitStatusFollowsTheFinalState) {
  pb::ForgetRequest running = MakeRequest("", pb::REQUEST_STATE_RUNNING);
  running.mutable_progress()->set_phase(pb::PHASE_UNLEARNING);
  running.mutable_progress()->set_fraction(0.25);
  running.mutable_progress()->set_iteration(25);
  running.mutable_progress()->set_iteration_budget(100);
  pb::ForgetRequest slightly_later = running;  // under 5 points: no new line in a log
  slightly_later.mutable_progress()->set_fraction(0.27);
  slightly_later.mutable_progress()->set_iteration(27);
  pb::ForgetRequest later = running;
  later.mutable_progress()->set_fraction(0.5);
  pb::ForgetRequest done = MakeRequest("", pb::REQUEST_STATE_COMPLETED);
  done.mutable_result()->set_model_version_id(3);
  unlearning_.watch_script = {MakeRequest("", pb::REQUEST_STATE_QUEUED), running, slightly_later,
                              later, done};
  EXPECT_EQ(Run({"watch", "r-1"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "queued\n"
            "running unlearning  25% iteration 25/100\n"
            "running unlearning  50% iteration 25/100\n"
            "completed: version 3\n");

  pb::ForgetRequest failed = MakeRequest("", pb::REQUEST_STATE_FAILED);
  failed.mutable_result()->set_error("budget exhausted");
  unlearning_.watch_script = {running, failed};
  EXPECT_EQ(Run({"watch", "r-1"}), kExitRequestFailed);
  EXPECT_NE(out_.str().find("failed: budget exhausted"), std::string::npos);

  unlearning_.watch_script = {MakeRequest("", pb::REQUEST_STATE_CANCELLED)};
  EXPECT_EQ(Run({"watch", "r-1", "--json"}), kExitRequestCancelled);
  EXPECT_EQ(Json::Parse(out_.str()).at("state").AsString(), "REQUEST_STATE_CANCELLED");
}

TEST_F(CliTest, WatchResumesWhenTheStreamEndsEarlyAndStopsAtItsDeadline) {
  // The stream keeps ending before a terminal state: watch reconnects until --timeout.
  unlearning_.watch_script = {MakeRequest("", pb::REQUEST_STATE_QUEUED)};
  EXPECT_EQ(Run({"watch", "r-1", "--timeout", "20s"}), kExitUnavailable);
  EXPECT_NE(err_.str().find("stopped watching"), std::string::npos);
  EXPECT_GT(seen_.deadline_seconds.size(), 2u);  // it did reconnect
  EXPECT_EQ(out_.str(), "queued\n");             // unchanged lines are not repeated
}

TEST_F(CliTest, DownloadVerifiesWhatItWrites) {
  EXPECT_EQ(Run({"models", "download", "fmnist", "--file", "generator.pt", "--out", dir_}), 0)
      << err_.str();
  EXPECT_EQ(ReadFile(dir_ + "/generator.pt"), models_.weights);
  models_.corrupt = true;
  std::filesystem::remove_all(dir_);
  EXPECT_EQ(Run({"models", "download", "fmnist", "--file", "generator.pt", "--out", dir_}),
            kExitIntegrity);
  EXPECT_NE(err_.str().find("sha256 mismatch"), std::string::npos);
  EXPECT_FALSE(PathExists(dir_ + "/generator.pt"));
  EXPECT_FALSE(PathExists(dir_)) << "a failed download must not leave the folder it created";
}

TEST_F(CliTest, SampleWritesThePng) {
  std::filesystem::create_directories(dir_);
  EXPECT_EQ(Run({"models", "sample", "fmnist", "--version", "2", "--out", dir_ + "/s.png"}), 0);
  EXPECT_EQ(ReadFile(dir_ + "/s.png"), "\x89PNG fake grid");
}

TEST_F(CliTest, SampleRefusedForCorruptionExits8AndWritesNothing) {
  models_.sample_corrupt = true;
  std::filesystem::create_directories(dir_);
  EXPECT_EQ(Run({"models", "sample", "fmnist", "--out", dir_ + "/s.png"}), kExitIntegrity);
  EXPECT_NE(err_.str().find("DATA_LOSS"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("reason=STORED_FILE_CORRUPT"), std::string::npos) << err_.str();
  EXPECT_FALSE(PathExists(dir_ + "/s.png"));
}

TEST_F(CliTest, AuditExportStopsOnACorruptGridWithNothingWritten) {
  models_.sample_corrupt = true;
  EXPECT_EQ(Run({"audit", "export", "r-1", "--out", dir_}), kExitIntegrity);
  EXPECT_NE(err_.str().find("STORED_FILE_CORRUPT"), std::string::npos) << err_.str();
  EXPECT_FALSE(PathExists(dir_));
}

TEST_F(CliTest, AuditVerifyBrokenChainExits7) {
  EXPECT_EQ(Run({"audit", "verify"}), kExitAuditBroken);
  EXPECT_NE(out_.str().find("BROKEN at seq 4"), std::string::npos);
}

TEST_F(CliTest, AuditExportWritesTheReportAndFlagsBadEvidence) {
  // The fake's record carries a wrong hash and its chain is broken: the files are still
  // written, and the exit status says the evidence does not verify.
  EXPECT_EQ(Run({"audit", "export", "r-1", "--out", dir_, "--json"}), kExitAuditBroken);
  Json summary = Json::Parse(out_.str());
  EXPECT_FALSE(summary.at("all_hashes_match").AsBool());
  Json report = Json::Parse(ReadFile(dir_ + "/report.json"));
  EXPECT_EQ(report.at("request").at("id").AsString(), "r-1");
  EXPECT_EQ(report.at("items")[0].at("item_id").AsString(), "train/1");
  EXPECT_TRUE(report.at("outcome").at("destination_reached").AsBool());
  EXPECT_EQ(report.at("model").at("result_version").at("id").AsInt(), 2);
  EXPECT_EQ(report.at("grid").at("file").AsString(), "grid.png");
  EXPECT_EQ(ReadFile(dir_ + "/grid.png"), "\x89PNG fake grid");
  EXPECT_NE(ReadFile(dir_ + "/report.md").find("# Erasure verification report"), std::string::npos);
}

}  // namespace
}  // namespace lethe::cli
