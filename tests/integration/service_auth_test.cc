// The auth matrix: every RPC refuses calls without a token or with a revoked one
// (UNAUTHENTICATED), and refuses roles that lack the permission (PERMISSION_DENIED).
#include <gtest/gtest.h>

#include <functional>

#include "service_fixture.h"

namespace lethe::testing {
namespace {

using Call = std::function<grpc::Status(const std::string& token)>;

struct Rpc {
  const char* name;
  Call call;
  std::vector<std::string> denied_roles;  // tokens (by fixture name) that get PERMISSION_DENIED
};

template <typename Resp>
grpc::Status Drain(std::unique_ptr<grpc::ClientReader<Resp>> reader) {
  Resp msg;
  while (reader->Read(&msg)) {
  }
  return reader->Finish();
}

class AuthTest : public ServiceTest {
 protected:
  std::vector<Rpc> Rpcs() {
    auto* s = s_;
    std::string model = s->model.name;
    return {
        {"SubmitForgetRequest",
         [s, model](const std::string& t) {
           pb::ForgetRequest r;
           return s->unlearning->SubmitForgetRequest(Ctx(t).get(),
                                                     ItemsRequest(model, {"train/11"}), &r);
         },
         {"operator"}},
        {"GetForgetRequest",
         [s](const std::string& t) {
           pb::GetForgetRequestRequest q;
           q.set_id("00000000-0000-4000-8000-000000000000");
           pb::ForgetRequest r;
           return s->unlearning->GetForgetRequest(Ctx(t).get(), q, &r);
         },
         {}},
        {"ListForgetRequests",
         [s](const std::string& t) {
           pb::ListForgetRequestsResponse r;
           return s->unlearning->ListForgetRequests(Ctx(t).get(), {}, &r);
         },
         {}},
        {"CancelForgetRequest",
         [s](const std::string& t) {
           pb::CancelForgetRequestRequest q;
           q.set_id("00000000-0000-4000-8000-000000000000");
           pb::ForgetRequest r;
           return s->unlearning->CancelForgetRequest(Ctx(t).get(), q, &r);
         },
         {"service", "operator"}},
        {"WatchForgetRequest",
         [s](const std::string& t) {
           pb::WatchForgetRequestRequest q;
           q.set_id("00000000-0000-4000-8000-000000000000");
           auto ctx = Ctx(t);
           return Drain(s->unlearning->WatchForgetRequest(ctx.get(), q));
         },
         {}},
        {"ExtendDeadline",
         [s](const std::string& t) {
           pb::ExtendDeadlineRequest q;
           q.set_id("00000000-0000-4000-8000-000000000000");
           q.set_extra_days(5);
           q.set_reason("complex case");
           pb::ForgetRequest r;
           return s->unlearning->ExtendDeadline(Ctx(t).get(), q, &r);
         },
         {"dpo", "service"}},
        {"ListModels",
         [s](const std::string& t) {
           pb::ListModelsResponse r;
           return s->models->ListModels(Ctx(t).get(), {}, &r);
         },
         {}},
        {"GetModel",
         [s, model](const std::string& t) {
           pb::GetModelRequest q;
           q.set_name(model);
           pb::Model r;
           return s->models->GetModel(Ctx(t).get(), q, &r);
         },
         {}},
        {"DownloadModelVersion",
         [s, model](const std::string& t) {
           pb::DownloadModelVersionRequest q;
           q.set_model(model);
           auto ctx = Ctx(t);
           return Drain(s->models->DownloadModelVersion(ctx.get(), q));
         },
         {}},
        {"Sample",
         [s, model](const std::string& t) {
           pb::SampleRequest q;
           q.set_model(model);
           pb::SampleResponse r;
           return s->models->Sample(Ctx(t).get(), q, &r);
         },
         {}},
        {"RegisterModel",
         [s](const std::string& t) {
           pb::RegisterModelRequest q;
           q.set_name("never-registered");
           q.set_checkpoint_dir("/nonexistent");
           q.set_dataset_items_file("/nonexistent");
           pb::Model r;
           return s->models->RegisterModel(Ctx(t).get(), q, &r);
         },
         {"dpo", "service"}},
        {"ListAuditRecords",
         [s](const std::string& t) {
           pb::ListAuditRecordsResponse r;
           return s->audit->ListAuditRecords(Ctx(t).get(), {}, &r);
         },
         {"service"}},
        {"VerifyAuditChain",
         [s](const std::string& t) {
           pb::VerifyAuditChainResponse r;
           return s->audit->VerifyAuditChain(Ctx(t).get(), {}, &r);
         },
         {"service"}},
        {"CreateToken",
         [s](const std::string& t) {
           pb::CreateTokenRequest q;
           q.set_name("new-token");
           q.set_role(pb::ROLE_SERVICE);
           pb::CreateTokenResponse r;
           return s->tokens->CreateToken(Ctx(t).get(), q, &r);
         },
         {"dpo", "service", "operator"}},
        {"RevokeToken",
         [s](const std::string& t) {
           pb::RevokeTokenRequest q;
           q.set_id(999999);
           pb::ApiToken r;
           return s->tokens->RevokeToken(Ctx(t).get(), q, &r);
         },
         {"dpo", "service", "operator"}},
        {"ListTokens",
         [s](const std::string& t) {
           pb::ListTokensResponse r;
           return s->tokens->ListTokens(Ctx(t).get(), {}, &r);
         },
         {"dpo", "service", "operator"}},
        {"WhoAmI",
         [s](const std::string& t) {
           pb::ApiToken r;
           return s->tokens->WhoAmI(Ctx(t).get(), {}, &r);
         },
         {}},
    };
  }

  std::string TokenFor(const std::string& role) {
    if (role == "dpo") return s_->dpo;
    if (role == "service") return s_->service;
    if (role == "operator") return s_->op;
    return s_->admin;
  }
};

TEST_F(AuthTest, EveryRpcRefusesMissingMalformedUnknownAndRevokedTokens) {
  // A token that is revoked through the API.
  std::string victim = CreateTokenCli(s_->db.url(), s_->dir.path(), "admin", "to-revoke");
  pb::ApiToken who;
  ASSERT_TRUE(s_->tokens->WhoAmI(Ctx(victim).get(), {}, &who).ok());
  pb::RevokeTokenRequest rq;
  rq.set_id(who.id());
  pb::ApiToken revoked;
  ASSERT_TRUE(s_->tokens->RevokeToken(Ctx(s_->admin).get(), rq, &revoked).ok());
  EXPECT_TRUE(revoked.revoked());

  for (const Rpc& rpc : Rpcs()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status none = rpc.call("");
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(none.error_message().find("missing bearer token"), std::string::npos);
    EXPECT_EQ(DetailOf(none).reason(), "MISSING_TOKEN");
    grpc::Status unknown = rpc.call("lethe_not-a-real-token");
    EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(unknown.error_message().find("bearer token is not valid"), std::string::npos);
    grpc::Status gone = rpc.call(victim);
    EXPECT_EQ(gone.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(gone.error_message().find("revoked"), std::string::npos) << gone.error_message();
    EXPECT_EQ(DetailOf(gone).reason(), "TOKEN_REVOKED");
  }
}

TEST_F(AuthTest, MalformedAuthorizationHeaderIsUnauthenticated) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Basic dXNlcjpwYXNz");
  pb::ApiToken r;
  grpc::Status st = s_->tokens->WhoAmI(ctx.get(), {}, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("must be \"Bearer <token>\""), std::string::npos);
}

TEST_F(AuthTest, RolesWithoutPermissionArePermissionDenied) {
  int denied = 0;
  for (const Rpc& rpc : Rpcs()) {
    for (std::string role : {"dpo", "service", "operator", "admin"}) {
      SCOPED_TRACE(std::string(rpc.name) + " as " + role);
      bool should_deny = std::find(rpc.denied_roles.begin(), rpc.denied_roles.end(), role) !=
                         rpc.denied_roles.end();
      grpc::Status st = rpc.call(TokenFor(role));
      if (should_deny) {
        ++denied;
        EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
        EXPECT_NE(st.error_message().find(std::string("has role ") + role), std::string::npos)
            << st.error_message();
        EXPECT_EQ(DetailOf(st).reason(), "ROLE_NOT_ALLOWED");
      } else {
        // Allowed: whatever the outcome, it is not an auth failure.
        EXPECT_NE(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
        EXPECT_NE(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
      }
    }
  }
  EXPECT_GE(denied, 15);
}

TEST_F(AuthTest, DpoCannotReadOrCancelAnotherRequestersRequest) {
  pb::ForgetRequest mine;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/20"}), &mine).ok());

  pb::GetForgetRequestRequest get;
  get.set_id(mine.id());
  pb::ForgetRequest r;
  grpc::Status st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo2).get(), get, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("may only access forget requests it submitted"),
            std::string::npos);
  EXPECT_EQ(DetailOf(st).reason(), "NOT_REQUEST_OWNER");

  pb::CancelForgetRequestRequest cancel;
  cancel.set_id(mine.id());
  st = s_->unlearning->CancelForgetRequest(Ctx(s_->dpo2).get(), cancel, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s_->db.Query("SELECT state FROM forget_requests WHERE id = '" + mine.id() + "'"),
            "queued");

  pb::WatchForgetRequestRequest watch;
  watch.set_id(mine.id());
  auto ctx = Ctx(s_->dpo2);
  st = Drain(s_->unlearning->WatchForgetRequest(ctx.get(), watch));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  pb::ListAuditRecordsRequest audit;
  audit.set_request_id(mine.id());
  pb::ListAuditRecordsResponse records;
  st = s_->audit->ListAuditRecords(Ctx(s_->dpo2).get(), audit, &records);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Bob's list does not show Alice's request; the operator sees it; Alice can read it.
  pb::ListForgetRequestsResponse list;
  ASSERT_TRUE(s_->unlearning->ListForgetRequests(Ctx(s_->dpo2).get(), {}, &list).ok());
  for (const auto& fr : list.forget_requests()) EXPECT_NE(fr.id(), mine.id());
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(Ctx(s_->op).get(), get, &r).ok());
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &r).ok());
  EXPECT_EQ(r.id(), mine.id());
  ASSERT_TRUE(s_->audit->ListAuditRecords(Ctx(s_->dpo).get(), audit, &records).ok());
  EXPECT_EQ(records.records_size(), 1);
}

TEST_F(AuthTest, TokenLifecycleThroughTheApi) {
  pb::CreateTokenRequest create;
  create.set_name("svc-new");
  create.set_role(pb::ROLE_SERVICE);
  pb::CreateTokenResponse created;
  ASSERT_TRUE(s_->tokens->CreateToken(Ctx(s_->admin).get(), create, &created).ok());
  EXPECT_EQ(created.secret().rfind("lethe_", 0), 0u);
  EXPECT_EQ(created.token().role(), pb::ROLE_SERVICE);
  // Only the hash is stored.
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM api_tokens WHERE token_sha256 = '" +
                         created.secret() + "'"),
            "0");
  pb::ApiToken who;
  ASSERT_TRUE(s_->tokens->WhoAmI(Ctx(created.secret()).get(), {}, &who).ok());
  EXPECT_EQ(who.name(), "svc-new");
  // A second live token with the same name is refused.
  pb::CreateTokenResponse dup;
  grpc::Status st = s_->tokens->CreateToken(Ctx(s_->admin).get(), create, &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  pb::ListTokensRequest all;
  all.set_include_revoked(true);
  pb::ListTokensResponse list;
  ASSERT_TRUE(s_->tokens->ListTokens(Ctx(s_->admin).get(), all, &list).ok());
  EXPECT_GE(list.tokens_size(), 6);
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log WHERE action = 'token.created'"),
            std::to_string(list.tokens_size()));
}

}  // namespace
}  // namespace lethe::testing
