// One database, one lethe-server process, tokens of every role and a registered fake
// model, shared by the tests of a suite (each ctest entry runs in its own process, so in
// practice each test gets a fresh database and server).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service_harness.h"

namespace lethe::testing {

struct SharedService {
  TestDatabase db;
  TempDir dir;
  std::unique_ptr<ServerProcess> server;
  std::string admin, dpo, dpo2, service, op;
  FakeModel model;
  std::unique_ptr<pb::Unlearning::Stub> unlearning;
  std::unique_ptr<pb::Models::Stub> models;
  std::unique_ptr<pb::Audit::Stub> audit;
  std::unique_ptr<pb::Tokens::Stub> tokens;

  void Connect() {
    unlearning = pb::Unlearning::NewStub(server->channel());
    models = pb::Models::NewStub(server->channel());
    audit = pb::Audit::NewStub(server->channel());
    tokens = pb::Tokens::NewStub(server->channel());
  }
};

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_ = new SharedService();
    s_->admin = CreateTokenCli(s_->db.url(), s_->dir.path(), "admin", "root");
    s_->dpo = CreateTokenCli(s_->db.url(), s_->dir.path(), "dpo", "dpo-alice");
    s_->dpo2 = CreateTokenCli(s_->db.url(), s_->dir.path(), "dpo", "dpo-bob");
    s_->service = CreateTokenCli(s_->db.url(), s_->dir.path(), "service", "svc-photos");
    s_->op = CreateTokenCli(s_->db.url(), s_->dir.path(), "operator", "ops");
    s_->server = std::make_unique<ServerProcess>(s_->db.url(), s_->dir.path());
    s_->Connect();
    s_->model = WriteFakeModel(s_->dir.path(), "fmnist-fake", 300);
    grpc::Status st = RegisterFakeModel(*s_->models, s_->op, s_->model);
    ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << s_->server->LogTail();
  }
  static void TearDownTestSuite() {
    delete s_;
    s_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && s_ && s_->server) {
      std::cerr << "--- server log tail ---\n" << s_->server->LogTail() << "\n";
    }
  }

  grpc::Status Submit(const std::string& token, const pb::SubmitForgetRequestRequest& req,
                      pb::ForgetRequest* out) {
    auto ctx = Ctx(token);
    return s_->unlearning->SubmitForgetRequest(ctx.get(), req, out);
  }

  static SharedService* s_;
};

inline SharedService* ServiceTest::s_ = nullptr;

}  // namespace lethe::testing
