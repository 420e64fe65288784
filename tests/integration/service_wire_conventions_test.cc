// gRPC conventions at the wire: invalid UTF-8 in any string field is INVALID_ARGUMENT with
// reason INVALID_UTF8 naming the field (not INTERNAL with an empty message), it is counted
// in the RPC metrics and logged as JSON (no raw libprotobuf lines), and the health service
// answers for every lethe.v1 service, not only for "".
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "engine/base/json.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

class WireConventionsTest : public ServiceTest {};

struct Case {
  std::string rpc;    // metrics label
  std::string field;  // expected metadata "field"
  std::function<grpc::Status()> call;
};

TEST_F(WireConventionsTest, InvalidUtf8InAnyStringFieldIsInvalidArgument) {
  const std::string bad = "caf\xC3 \xFF";  // truncated sequence, then a byte never valid
  auto submit_with = [&](const std::function<void(pb::SubmitForgetRequestRequest*)>& edit) {
    return [this, edit] {
      pb::SubmitForgetRequestRequest req = ItemsRequest(s_->model.name, {"train/1"});
      req.set_legal_ground(pb::LEGAL_GROUND_OTHER);
      req.set_legal_ground_text("the subject withdrew consent");
      edit(&req);
      pb::ForgetRequest out;
      return Submit(s_->dpo, req, &out);
    };
  };
  std::vector<Case> cases = {
      {"SubmitForgetRequest", "items.item_ids[0]",
       submit_with([&](auto* r) { r->mutable_items()->set_item_ids(0, "train/" + bad); })},
      {"SubmitForgetRequest", "legal_ground_text",
       submit_with([&](auto* r) { r->set_legal_ground_text(bad); })},
      {"SubmitForgetRequest", "subject_reference",
       submit_with([&](auto* r) { r->set_subject_reference(bad); })},
      {"SubmitForgetRequest", "model", submit_with([&](auto* r) { r->set_model(bad); })},
      {"SubmitForgetRequest", "request_id", submit_with([&](auto* r) { r->set_request_id(bad); })},
      {"GetForgetRequest", "id",
       [&] {
         pb::GetForgetRequestRequest req;
         req.set_id(bad);
         pb::ForgetRequest out;
         return s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), req, &out);
       }},
      {"DownloadModelVersion", "file",
       [&] {
         pb::DownloadModelVersionRequest req;
         req.set_model(s_->model.name);
         req.set_file(bad);
         auto ctx = Ctx(s_->dpo);
         auto reader = s_->models->DownloadModelVersion(ctx.get(), req);
         pb::DownloadChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return reader->Finish();
       }},
  };
  for (const Case& c : cases) {
    grpc::Status st = c.call();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(st.error_message(), c.field + ": is not valid UTF-8 (string fields must be UTF-8)");
    google::rpc::ErrorInfo info = DetailOf(st);
    EXPECT_EQ(info.reason(), "INVALID_UTF8") << c.field;
    EXPECT_EQ(info.domain(), "lethe.v1");
    EXPECT_EQ(info.metadata().at("field"), c.field);
  }
  // Nothing was written.
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE legal_ground_text = "
                         "'the subject withdrew consent'"),
            "0");

  // Counted in the RPC metrics under the method's name.
  std::string body = HttpGet(s_->server->metrics_port(), "/metrics");
  for (const char* line :
       {"lethe_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"SubmitForgetRequest\"} 5",
        "lethe_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"GetForgetRequest\"} 1",
        "lethe_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"DownloadModelVersion\"} 1"}) {
    EXPECT_NE(body.find(line), std::string::npos) << line << " missing from:\n" << body;
  }

  // The log is JSON only: no raw "[libprotobuf ERROR ...]" lines, and each rejection is
  // logged with its reason and field.
  std::ifstream log(s_->server->log_path());
  std::string line;
  int rejected = 0;
  while (std::getline(log, line)) {
    EXPECT_EQ(line.find("[libprotobuf"), std::string::npos) << line;
    if (line.empty() || line[0] != '{') continue;
    Json entry = Json::Parse(line);
    if (entry.GetString("msg", "") == "rpc rejected" &&
        entry.GetString("reason", "") == "INVALID_UTF8") {
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, 7);
}

TEST_F(WireConventionsTest, HealthAnswersForEachLetheService) {
  auto health = grpc::health::v1::Health::NewStub(s_->server->channel());
  for (const char* service :
       {"", "lethe.v1.Unlearning", "lethe.v1.Models", "lethe.v1.Audit", "lethe.v1.Tokens"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = health->Check(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << service << ": " << st.error_message();
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("lethe.v1.NoSuchService");
  grpc::health::v1::HealthCheckResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(health->Check(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(WireConventionsTest, MessagesSayWhatTheCallerGotWrong) {
  // OTHER needs a stated ground: blank text is refused like missing text.
  pb::SubmitForgetRequestRequest other = ItemsRequest(s_->model.name, {"train/2"});
  other.set_legal_ground(pb::LEGAL_GROUND_OTHER);
  other.set_legal_ground_text("  \t ");
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, other, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "MISSING_FIELD");
  EXPECT_EQ(DetailOf(st).metadata().at("field"), "legal_ground_text");

  pb::SubmitForgetRequestRequest req = ItemsRequest(s_->model.name, {"train/3"});
  ASSERT_TRUE(Submit(s_->dpo, req, &r).ok());

  // Get with the idempotency key: NOT_FOUND, naming the server's id.
  pb::GetForgetRequestRequest get;
  get.set_id(req.request_id());
  pb::ForgetRequest out;
  st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailOf(st).metadata().at("server_id"), r.id());
  EXPECT_NE(st.error_message().find("idempotency key"), std::string::npos) << st.error_message();
  // Another token's key gives no such hint (it would reveal that the key exists).
  st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo2).get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailOf(st).metadata().count("server_id"), 0u);

  // An operator may cancel no request at all; the message must not say "its own".
  pb::CancelForgetRequestRequest cancel;
  cancel.set_id(r.id());
  st = s_->unlearning->CancelForgetRequest(Ctx(s_->op).get(), cancel, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message().find("its own"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("may not cancel forget requests"), std::string::npos)
      << st.error_message();
}

}  // namespace
}  // namespace lethe::testing

namespace lethe::testing {
namespace {

TEST(LethectlConnectionTest, RefusedConnectionSaysTheRequestWasNotSent) {
  std::string output;
  int rc =
      RunCommand({LETHE_LETHECTL_BINARY, "--insecure", "--token", "lethe_unused", "--timeout", "5s",
                  "--server", "127.0.0.1:" + std::to_string(FreePort()), "submit", "item",
                  "--model", "m", "--item", "train/1", "--legal-ground", "consent-withdrawn"},
                 &output);
  EXPECT_EQ(rc, 6) << output;
  EXPECT_NE(output.find("the request was not sent"), std::string::npos) << output;
  EXPECT_EQ(output.find("may have been received"), std::string::npos) << output;
}

}  // namespace
}  // namespace lethe::testing
