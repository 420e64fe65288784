// Server logic that needs neither a database nor a network: request validation and the
// canonical body hash, upload checks, status conversion, config validation, model store.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <filesystem>

#include "common/errors.h"
#include "common/metrics.h"
#include "common/model_store.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "lethe/v1/common.pb.h"
#include "server/grpc_status.h"
#include "server/proto_convert.h"
#include "server/server_config.h"
#include "server/submit_validator.h"
#include "server/upload_image.h"

namespace lethe {
namespace {

namespace pb = ::lethe::v1;

pb::SubmitForgetRequestRequest Valid() {
  pb::SubmitForgetRequestRequest r;
  r.set_request_id("123e4567-e89b-42d3-a456-426614174000");
  r.set_model("fmnist");
  r.mutable_items()->add_item_ids("train/1");
  r.mutable_items()->add_item_ids("train/2");
  r.set_legal_ground(pb::LEGAL_GROUND_ART17_1A_NO_LONGER_NECESSARY);
  return r;
}

TEST(SubmitValidatorTest, UnspecifiedSubstituteDependsOnTheKind) {
  RequestLimits limits;
  auto items = ValidateSubmit(Valid(), limits, "salt-salt-salt-salt");
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(items->substitute, "average");
  auto klass = Valid();
  klass.mutable_class_target()->set_label(3);
  auto c = ValidateSubmit(klass, limits, "salt-salt-salt-salt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, "class");
  EXPECT_EQ(c->substitute, "other_class");
  klass.set_substitute(pb::SUBSTITUTE_AVERAGE);  // an explicit choice is kept
  auto explicit_average = ValidateSubmit(klass, limits, "salt-salt-salt-salt");
  ASSERT_TRUE(explicit_average.ok()) << explicit_average.status();
  EXPECT_EQ(explicit_average->substitute, "average");
}

TEST(SubmitValidatorTest, NormalisesDefaultsAndHashesAnOrderFreeBody) {
  RequestLimits limits;
  auto a = ValidateSubmit(Valid(), limits, "salt-salt-salt-salt");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->mode, "few_shot");
  EXPECT_EQ(a->substitute, "average");
  EXPECT_EQ(a->kind, "items");
  EXPECT_EQ(a->legal_ground, "art17_1a");
  EXPECT_EQ(a->subject_hash, "");
  auto swapped = Valid();
  swapped.mutable_items()->set_item_ids(0, "train/2");
  swapped.mutable_items()->set_item_ids(1, "train/1");
  swapped.set_mode(pb::FORGET_MODE_FEW_SHOT);  // explicit default
  auto b = ValidateSubmit(swapped, limits, "salt-salt-salt-salt");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->body_sha256, b->body_sha256);
  auto other = Valid();
  other.mutable_hyperparameters()->set_fake_label(0.1);
  EXPECT_NE(ValidateSubmit(other, limits, "s")->body_sha256, a->body_sha256);
}

TEST(SubmitValidatorTest, SubjectReferenceIsOnlyEverASaltedHash) {
  auto r = Valid();
  r.set_subject_reference("jane.doe@example.com");
  RequestLimits limits;
  auto a = ValidateSubmit(r, limits, "salt-one-0123456789");
  auto b = ValidateSubmit(r, limits, "salt-two-0123456789");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->subject_hash, HashSubjectReference("salt-one-0123456789", "jane.doe@example.com"));
  EXPECT_NE(a->subject_hash, b->subject_hash);
  EXPECT_EQ(a->canonical_body.Dump().find("jane.doe"), std::string::npos);
}

TEST(SubmitValidatorTest, LimitsComeFromConfiguration) {
  RequestLimits limits;
  limits.max_items = 1;
  auto s = ValidateSubmit(Valid(), limits, "s").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorReason(s), "TOO_MANY_ITEMS");
  EXPECT_EQ(std::string(s.message()), "items: 2 items and images; the limit is 1 per request");
}

TEST(UploadImageTest, HashIsTheSha256OfDecodedPixels) {
  Image8 img{28, 28, 1, std::vector<uint8_t>(28 * 28)};
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 7);
  std::string png = EncodePng(img);
  auto h = HashUploadedImage("f", png, ItemShape{28, 28, 1});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, Sha256Hex(img.pixels.data(), img.pixels.size()));
  auto header = ReadPngHeader("f", png);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 28);
  EXPECT_EQ(header->color_type, 0);
  EXPECT_EQ(ErrorReason(HashUploadedImage("f", png, ItemShape{32, 32, 1}).status()),
            "IMAGE_SHAPE_MISMATCH");
  EXPECT_EQ(ErrorReason(HashUploadedImage("f", png, ItemShape{28, 28, 3}).status()),
            "IMAGE_SHAPE_MISMATCH");
  std::string corrupt = png;
  corrupt[40] ^= 0x7f;
  EXPECT_EQ(ErrorReason(HashUploadedImage("f", corrupt, ItemShape{28, 28, 1}).status()),
            "CORRUPT_IMAGE");
  EXPECT_EQ(ErrorReason(HashUploadedImage("f", "hello", ItemShape{28, 28, 1}).status()),
            "CORRUPT_IMAGE");
}

TEST(GrpcStatusTest, ReasonAndMetadataSurviveTheRoundTrip) {
  absl::Status s = MakeError(absl::StatusCode::kAlreadyExists, "IDEMPOTENCY_KEY_REUSED", "msg",
                             {{"existing_id", "x"}});
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(g.error_message(), "msg");
  // The standard rich error model: google.rpc.Status holding one google.rpc.ErrorInfo.
  google::rpc::Status rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(g.error_details()));
  EXPECT_EQ(rpc_status.code(), int(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_EQ(rpc_status.message(), "msg");
  ASSERT_EQ(rpc_status.details_size(), 1);
  EXPECT_EQ(rpc_status.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  google::rpc::ErrorInfo d;
  ASSERT_TRUE(rpc_status.details(0).UnpackTo(&d));
  EXPECT_EQ(d.reason(), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(d.domain(), "lethe.v1");
  EXPECT_EQ(d.metadata().at("existing_id"), "x");
  absl::Status back = FromGrpcStatus(g);
  EXPECT_EQ(back.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorReason(back), "IDEMPOTENCY_KEY_REUSED");
}

TEST(ProtoConvertTest, HyperparametersRoundTripThroughStoredJson) {
  pb::Hyperparameters h;
  h.set_fake_label(0.1);
  h.set_destination(pb::DESTINATION_POLICY_NON_MEMBER);
  h.set_iteration_budget(400);
  Json j = HyperparametersToJson(h);
  EXPECT_EQ(j.Dump(),
            "{\"destination\":\"non_member\",\"fake_label\":0.1,\"iteration_budget\":400}");
  pb::Hyperparameters back = HyperparametersFromJson(j);
  EXPECT_EQ(back.SerializeAsString(), h.SerializeAsString());
  EXPECT_EQ(StateFromDb("running"), pb::REQUEST_STATE_RUNNING);
  EXPECT_TRUE(IsTerminalState("cancelled"));
  EXPECT_FALSE(IsTerminalState("queued"));
  google::protobuf::Timestamp ts;
  SetTimestamp(-1, &ts);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999999000);
}

TEST(ServerConfigTest, ValidateTable) {
  struct Case {
    std::function<void(ServerConfig&)> mutate;
    const char* message;  // "" = valid
  };
  const Case cases[] = {
      {[](ServerConfig& c) { c.insecure = true; }, ""},
      {[](ServerConfig&) {}, "no TLS configured"},
      {[](ServerConfig& c) { c.tls_cert = "c.pem"; }, "must be given together"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.tls_cert = "c";
         c.tls_key = "k";
       },
       "exclude each other"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.tls_client_ca = "ca";
       },
       "--tls-client-ca needs"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.limits.max_items = 0;
       },
       "--max-items 0 is outside"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.subject_salt = "short";
       },
       "at least 16 characters"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.log_level = "loud";
       },
       "--log-level"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.audit_log_origin = "my audit";
       },
       "--audit-log-origin \"my audit\" must be"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.audit_checkpoint_s = 0;
       },
       "--audit-checkpoint-s 0 is outside"},
      {[](ServerConfig& c) {
         c.insecure = true;
         c.audit_log_origin = "lethe.example.org/audit";
       },
       ""},
  };
  for (const Case& c : cases) {
    ServerConfig cfg;
    c.mutate(cfg);
    absl::Status s = cfg.Validate();
    if (std::string(c.message).empty()) {
      EXPECT_TRUE(s.ok()) << s;
    } else {
      EXPECT_NE(std::string(s.message()).find(c.message), std::string::npos) << s;
    }
  }
}

TEST(MetricsTest, DefinesTheDocumentedNames) {
  ServerMetrics m;
  m.RecordRpc("SubmitForgetRequest", "OK", 0.002);
  m.SetRequestsByState({{"queued", 3}});
  m.SetOverdue(2);
  prometheus::TextSerializer text;
  std::string out = text.Serialize(m.registry()->Collect());
  EXPECT_NE(out.find("lethe_rpc_requests_total{code=\"OK\",method=\"SubmitForgetRequest\"} 1"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("lethe_rpc_duration_seconds_bucket{method=\"SubmitForgetRequest\",le=\"0.0025\"} 1"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("lethe_forget_requests{state=\"queued\"} 3"), std::string::npos);
  EXPECT_NE(out.find("lethe_forget_requests{state=\"failed\"} 0"), std::string::npos);
  EXPECT_NE(out.find("lethe_forget_requests_overdue 2"), std::string::npos);
  // No checkpoint yet: no age (an alert on it must not fire on a server without a key).
  EXPECT_EQ(out.find("lethe_audit_checkpoint_age_seconds "), std::string::npos);
  m.SetAuditCheckpoint(12.5, 1000);
  m.CountAuditCheckpoint("refused");
  out = text.Serialize(m.registry()->Collect());
  EXPECT_NE(out.find("lethe_audit_checkpoint_age_seconds 12.5"), std::string::npos) << out;
  EXPECT_NE(out.find("lethe_audit_checkpoint_tree_size 1000"), std::string::npos);
  EXPECT_NE(out.find("lethe_audit_checkpoints_total{result=\"refused\"} 1"), std::string::npos);
}

TEST(ModelStoreTest, PutVerifiesHashesAndIsAtomicAndIdempotent) {
  std::string root =
      (std::filesystem::temp_directory_path() / ("lethe-store-" + std::to_string(::getpid())))
          .string();
  std::string src = root + "-src";
  MakeDirs(src);
  WriteFileAtomic(src + "/generator.pt", "weights");
  WriteFileAtomic(src + "/manifest.json", "{\"manifest\":1}");
  std::string digest = Sha256Hex("{\"manifest\":1}");
  auto store = DirectoryModelStore::Create(root);
  ASSERT_TRUE(store.ok());
  std::map<std::string, std::string> files = {{"generator.pt", Sha256Hex("weights")}};
  auto key = (*store)->PutVersion("m", digest, src, files);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "m/" + digest);
  EXPECT_EQ(*(*store)->ReadWhole(*key, "generator.pt"), "weights");
  EXPECT_EQ(*(*store)->FileSize(*key, "generator.pt"), 7);
  EXPECT_EQ(*(*store)->ReadChunk(*key, "generator.pt", 2, 3), "igh");
  EXPECT_EQ(*(*store)->ReadChunk(*key, "generator.pt", 7, 3), "");
  EXPECT_TRUE((*store)->PutVersion("m", digest, src, files).ok());  // no-op
  // A file that does not match its hash is refused and leaves nothing behind.
  std::string digest2 = Sha256Hex("other");
  WriteFileAtomic(src + "/manifest.json", "other");
  files["generator.pt"] = Sha256Hex("something else");
  auto bad = (*store)->PutVersion("m", digest2, src, files);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsDirectory(root + "/m/" + digest2));
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(root + "/m")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // no temp directories left
  EXPECT_FALSE((*store)->ReadWhole("../etc", "passwd").ok());
  EXPECT_TRUE((*store)->RemoveVersion(*key).ok());
  EXPECT_FALSE((*store)->HasFile(*key, "generator.pt"));
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(src);
}

}  // namespace
}  // namespace lethe
