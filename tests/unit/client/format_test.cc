#include "client/format.h"

#include <gtest/gtest.h>

#include "client/rpc_error.h"
#include "engine/base/json.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "lethe/v1/common.pb.h"

namespace lethe::cli {
namespace {

using lethe::v1::ForgetRequest;

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

TEST(TableTest, PadsColumnsToTheWidestCellAndDashesEmptyCells) {
  Table t({"ID", "NAME"});
  t.AddRow({"1", "alpha"});
  t.AddRow({"1234", ""});
  EXPECT_EQ(t.Render(), "ID    NAME\n1     alpha\n1234  -\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, CountsUtf8CodePointsNotBytes) {
  Table t({"A", "B"});
  t.AddRow({"\xc3\xa9t\xc3\xa9", "x"});  // "été": 3 code points, 5 bytes
  EXPECT_EQ(t.Render(), "A    B\n\xc3\xa9t\xc3\xa9  x\n");
}

TEST(KeyValuesTest, AlignsKeys) {
  EXPECT_EQ(FormatKeyValues({{"id", "7"}, {"state", ""}}), "id:    7\nstate: -\n");
}

TEST(TimestampTest, Rfc3339AndMicros) {
  EXPECT_EQ(FormatTimestamp(Ts(0)), "");
  EXPECT_EQ(FormatTimestamp(Ts(1700000000)), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatTimestampMicros(Ts(1700000000, 123456789)), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatTimestampMicros(Ts(1700000000, 5000)), "2023-11-14T22:13:20.000005Z");
}

TEST(DurationTest, Units) {
  EXPECT_EQ(FormatDuration(-1), "0s");
  EXPECT_EQ(FormatDuration(42.4), "42s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(7620), "2h07m");
  EXPECT_EQ(FormatDuration(2 * 86400 + 3 * 3600), "2d03h");
}

TEST(EnumNameTest, StripsTheTypePrefix) {
  EXPECT_EQ(StateName(lethe::v1::REQUEST_STATE_QUEUED), "queued");
  EXPECT_EQ(RoleName(lethe::v1::ROLE_DPO), "dpo");
  EXPECT_EQ(EnumName(lethe::v1::LegalGround_descriptor(),
                     lethe::v1::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN),
            "art17-1b-consent-withdrawn");
  EXPECT_EQ(EnumName(lethe::v1::DestinationPolicy_descriptor(),
                     lethe::v1::DESTINATION_POLICY_CLASS_FD_RELATIVE),
            "class-fd-relative");
  EXPECT_EQ(EnumName(lethe::v1::RequestState_descriptor(), 99), "99");
}

ForgetRequest SampleRequest() {
  ForgetRequest r;
  r.set_id("11111111-2222-4333-8444-555555555555");
  r.set_request_id("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  r.set_model("fmnist");
  r.set_kind(lethe::v1::FORGET_KIND_ITEMS);
  r.set_state(lethe::v1::REQUEST_STATE_RUNNING);
  r.set_item_count(2);
  r.set_requester("dpo-1");
  r.set_requester_id(4);
  *r.mutable_received_at() = Ts(1700000000);
  *r.mutable_due_at() = Ts(1700000000 + 30 * 86400);
  r.mutable_progress()->set_phase(lethe::v1::PHASE_UNLEARNING);
  r.mutable_progress()->set_fraction(0.5);
  r.mutable_progress()->set_iteration(100);
  r.mutable_progress()->set_iteration_budget(200);
  (*r.mutable_progress()->mutable_metrics())["auc_u"] = 0.75;
  r.mutable_hyperparameters()->set_fake_label(0.1);
  auto* item = r.add_items();
  item->set_item_id("train/1");
  item->set_sha256(std::string(64, 'a'));
  auto* upload = r.add_items();
  upload->set_sha256(std::string(64, 'b'));
  upload->set_uploaded(true);
  upload->set_upload_name("face.png");
  return r;
}

TEST(RequestFormatTest, ListShowsOneRowPerRequest) {
  ForgetRequest a = SampleRequest();
  ForgetRequest b = SampleRequest();
  b.set_id("99999999-2222-4333-8444-555555555555");
  b.set_kind(lethe::v1::FORGET_KIND_CLASS);
  b.set_class_label(7);
  b.set_state(lethe::v1::REQUEST_STATE_COMPLETED);
  std::string out = FormatRequestList({a, b});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
  EXPECT_NE(out.find("ID"), std::string::npos);
  EXPECT_NE(out.find("items (2)"), std::string::npos);
  EXPECT_NE(out.find("class 7"), std::string::npos);
  EXPECT_NE(out.find("completed"), std::string::npos);
  EXPECT_NE(out.find("2023-12-14T22:13:20Z"), std::string::npos);  // due date
}

TEST(RequestFormatTest, DetailShowsProgressItemsAndHyperparameters) {
  std::string out = FormatRequestDetail(SampleRequest());
  EXPECT_NE(out.find("state:"), std::string::npos);
  EXPECT_NE(out.find("unlearning 50% iteration 100/200 auc_u=0.75"), std::string::npos);
  EXPECT_NE(out.find("fake_label=0.1"), std::string::npos);
  EXPECT_NE(out.find("dpo-1 (token 4)"), std::string::npos);
  EXPECT_NE(out.find("train/1"), std::string::npos);
  EXPECT_NE(out.find("upload face.png (unmatched)"), std::string::npos);
}

TEST(RequestFormatTest, CancelRequestedAndFailure) {
  ForgetRequest r = SampleRequest();
  r.set_cancel_requested(true);
  EXPECT_NE(FormatRequestDetail(r).find("running (cancel requested)"), std::string::npos);
  r.set_state(lethe::v1::REQUEST_STATE_FAILED);
  r.mutable_result()->set_error("destination not reached");
  EXPECT_NE(FormatRequestDetail(r).find("error:"), std::string::npos);
}

TEST(JsonOutputTest, SnakeCaseNamesAndDefaultsPresent) {
  ForgetRequest r;
  r.set_id("x");
  Json j = Json::Parse(MessageToJson(r));
  EXPECT_EQ(j.at("id").AsString(), "x");
  // Defaults are printed so scripts can rely on the keys.
  EXPECT_EQ(j.at("state").AsString(), "REQUEST_STATE_UNSPECIFIED");
  EXPECT_TRUE(j.Has("request_id"));
  EXPECT_TRUE(j.Has("cancel_requested"));
  EXPECT_FALSE(j.Has("requestId"));
  // Unset optional fields stay absent.
  EXPECT_FALSE(j.Has("class_label"));
}

TEST(ModelFormatTest, DetailListsVersions) {
  lethe::v1::Model m;
  m.set_name("fmnist");
  m.set_num_classes(10);
  m.set_resolution(32);
  m.set_img_channels(1);
  auto* v1 = m.add_versions();
  v1->set_id(2);
  v1->set_parent_id(1);
  v1->set_sha256(std::string(64, 'c'));
  v1->set_state(lethe::v1::VERSION_STATE_ACTIVE);
  (*v1->mutable_metrics())["fd"] = 12.5;
  auto* v0 = m.add_versions();
  v0->set_id(1);
  v0->set_state(lethe::v1::VERSION_STATE_SUPERSEDED);
  std::string out = FormatModelDetail(m);
  EXPECT_NE(out.find("32x32x1"), std::string::npos);
  EXPECT_NE(out.find("active"), std::string::npos);
  EXPECT_NE(out.find("superseded"), std::string::npos);
  EXPECT_NE(out.find("cccccccccccc "), std::string::npos);  // hash shortened to 12
  EXPECT_EQ(out.find(std::string(13, 'c')), std::string::npos);
  EXPECT_NE(out.find("fd=12.5"), std::string::npos);
}

TEST(AuditFormatTest, Verification) {
  lethe::v1::VerifyAuditChainResponse ok;
  ok.set_ok(true);
  ok.set_records_checked(12);
  ok.set_head_hash("abc");
  EXPECT_EQ(FormatAuditVerification(ok), "audit chain OK: 12 records, head abc\n");
  lethe::v1::VerifyAuditChainResponse bad;
  bad.set_first_bad_seq(5);
  bad.set_reason("hash mismatch");
  bad.set_records_checked(5);
  EXPECT_EQ(FormatAuditVerification(bad),
            "audit chain BROKEN at seq 5: hash mismatch (5 records checked)\n");
}

TEST(TokenFormatTest, ListAndDetail) {
  lethe::v1::ApiToken t;
  t.set_id(3);
  t.set_name("alice");
  t.set_role(lethe::v1::ROLE_OPERATOR);
  EXPECT_NE(FormatTokenList({t}).find("3   alice  operator"), std::string::npos);
  t.set_revoked(true);
  *t.mutable_revoked_at() = Ts(1700000000);
  EXPECT_NE(FormatTokenDetail(t).find("yes, 2023-11-14T22:13:20Z"), std::string::npos);
}

TEST(RpcErrorTest, LineCarriesCodeMessageAndReason) {
  // What lethe-server sends: google.rpc.Status with a google.rpc.ErrorInfo (AIP-193).
  google::rpc::ErrorInfo detail;
  detail.set_reason("UNKNOWN_ITEMS");
  detail.set_domain("lethe.v1");
  (*detail.mutable_metadata())["item_ids"] = "train/9";
  (*detail.mutable_metadata())["field"] = "items.item_ids";
  google::rpc::Status rpc_status;
  rpc_status.set_code(5);
  rpc_status.set_message("unknown item ids");
  rpc_status.add_details()->PackFrom(detail);
  grpc::Status status(grpc::StatusCode::NOT_FOUND, "unknown item ids:\ntrain/9",
                      rpc_status.SerializeAsString());
  EXPECT_EQ(FormatRpcError(status),
            "NOT_FOUND: unknown item ids: train/9 [reason=UNKNOWN_ITEMS field=items.item_ids "
            "item_ids=train/9]");
  EXPECT_EQ(ExitCodeForStatus(status.error_code()), kExitNotFound);
}

TEST(RpcErrorTest, TellsAFailedConnectionFromABrokenCall) {
  // What grpc 1.51 reports when nothing listens on the port.
  EXPECT_TRUE(CallNeverReachedServer(grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to "
      "connect to remote host: Connection refused")));
  EXPECT_TRUE(CallNeverReachedServer(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "DNS resolution failed for no-such-host:7443")));
  // A connection that broke mid-call: the server may have the request.
  EXPECT_FALSE(
      CallNeverReachedServer(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed")));
  EXPECT_FALSE(CallNeverReachedServer(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down; watch again")));
  EXPECT_FALSE(CallNeverReachedServer(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "failed to connect to all addresses")));
}

TEST(RpcErrorTest, PlainStatusHasNoReason) {
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "connection refused");
  EXPECT_EQ(FormatRpcError(status), "UNAVAILABLE: connection refused");
  EXPECT_EQ(ExitCodeForStatus(status.error_code()), kExitUnavailable);
}

// google.rpc.Status{code=5, message="m", details=[Any{type_url, value=ErrorDetail}]},
// written by hand in the wire format.
std::string WrapInRpcStatus(const lethe::v1::ErrorDetail& detail) {
  auto len_field = [](int field, const std::string& bytes) {
    std::string out;
    out += static_cast<char>((field << 3) | 2);
    out += static_cast<char>(bytes.size());  // < 128 in this test
    return out + bytes;
  };
  std::string any = len_field(1, "type.googleapis.com/lethe.v1.ErrorDetail") +
                    len_field(2, detail.SerializeAsString());
  std::string status;
  status += static_cast<char>((1 << 3) | 0);
  status += static_cast<char>(5);
  return status + len_field(2, "m") + len_field(3, any);
}

TEST(RpcErrorTest, AlsoReadsTheOlderErrorDetailFormats) {
  lethe::v1::ErrorDetail bare;
  bare.set_reason("MODEL_EXISTS");
  bare.set_domain("lethe.v1");
  (*bare.mutable_metadata())["field"] = "name";
  auto parsed = ParseErrorDetail(bare.SerializeAsString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->reason(), "MODEL_EXISTS");
  EXPECT_EQ(parsed->metadata().at("field"), "name");
}

TEST(RpcErrorTest, AlsoReadsAGoogleRpcStatusEnvelope) {
  lethe::v1::ErrorDetail detail;
  detail.set_reason("IDEMPOTENCY_KEY_REUSED");
  detail.set_domain("lethe.v1");
  auto parsed = ParseErrorDetail(WrapInRpcStatus(detail));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->reason(), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_FALSE(ParseErrorDetail("").has_value());
  EXPECT_FALSE(ParseErrorDetail("\xff\xff garbage").has_value());
}

TEST(RpcErrorTest, ExitCodes) {
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::PERMISSION_DENIED), kExitPermission);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::UNAUTHENTICATED), kExitPermission);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::INVALID_ARGUMENT), kExitUsage);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::ALREADY_EXISTS), kExitConflict);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::INTERNAL), kExitFailure);
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
}

}  // namespace
}  // namespace lethe::cli
