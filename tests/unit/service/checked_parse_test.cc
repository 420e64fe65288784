// The server's request parsing (proto/checked_traits.h, proto/utf8_scan.h): invalid UTF-8
// in any string field, nested or repeated, becomes INVALID_ARGUMENT naming the field, with
// a google.rpc.Status / ErrorInfo in the details; valid messages parse as before.
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "lethe/v1/models.pb.h"
#include "lethe/v1/unlearning.grpc.pb.h"
#include "proto/checked_traits.h"
#include "proto/utf8_scan.h"

namespace lethe {
namespace {

namespace pb = ::lethe::v1;

TEST(Utf8Test, AcceptsWellFormedAndRejectsEveryKindOfMalformedSequence) {
  EXPECT_TRUE(IsStructurallyValidUtf8(""));
  EXPECT_TRUE(IsStructurallyValidUtf8("plain ascii"));
  EXPECT_TRUE(
      IsStructurallyValidUtf8("Gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"));  // üß € 😀
  EXPECT_FALSE(IsStructurallyValidUtf8("\xFF"));
  EXPECT_FALSE(IsStructurallyValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsStructurallyValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsStructurallyValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsStructurallyValidUtf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(IsStructurallyValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsStructurallyValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Utf8ScanTest, NamesTheFirstBadFieldWithItsPath) {
  pb::SubmitForgetRequestRequest r;
  r.set_request_id("123e4567-e89b-42d3-a456-426614174000");
  r.set_model("fmnist");
  r.mutable_items()->add_item_ids("train/1");
  r.mutable_items()->add_item_ids("train/\xFF");
  std::string wire = r.SerializeAsString();
  Utf8ScanResult scan = ScanForInvalidUtf8(*pb::SubmitForgetRequestRequest::descriptor(), wire);
  EXPECT_FALSE(scan.malformed);
  ASSERT_TRUE(scan.bad_field.has_value());
  EXPECT_EQ(*scan.bad_field, "items.item_ids[1]");

  r.mutable_items()->set_item_ids(1, "train/2");
  r.set_legal_ground_text("ok \xC3\xA9");
  EXPECT_FALSE(
      ScanForInvalidUtf8(*pb::SubmitForgetRequestRequest::descriptor(), r.SerializeAsString())
          .bad_field.has_value());
  // An uploaded PNG is `bytes`: anything goes there.
  auto* image = r.mutable_items()->add_images();
  image->set_png(std::string("\x89PNG\xFF\xFE", 6));
  EXPECT_FALSE(
      ScanForInvalidUtf8(*pb::SubmitForgetRequestRequest::descriptor(), r.SerializeAsString())
          .bad_field.has_value());
  image->set_name("\xFE.png");
  auto bad =
      ScanForInvalidUtf8(*pb::SubmitForgetRequestRequest::descriptor(), r.SerializeAsString());
  ASSERT_TRUE(bad.bad_field.has_value());
  EXPECT_EQ(*bad.bad_field, "items.images[0].name");
}

TEST(Utf8ScanTest, TruncatedBytesAreMalformed) {
  pb::SubmitForgetRequestRequest r;
  r.set_model("fmnist-model");
  std::string wire = r.SerializeAsString();
  wire.pop_back();
  EXPECT_TRUE(ScanForInvalidUtf8(*pb::SubmitForgetRequestRequest::descriptor(), wire).malformed);
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

google::rpc::ErrorInfo InfoOf(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  google::rpc::ErrorInfo info;
  EXPECT_TRUE(rpc_status.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc_status.code(), int(status.error_code()));
  if (rpc_status.details_size() > 0) {
    EXPECT_TRUE(rpc_status.details(0).UnpackTo(&info));
  }
  return info;
}

TEST(CheckedDeserializeTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  pb::GetForgetRequestRequest get;
  get.set_id("abc\xFF");
  grpc::ByteBuffer buffer = Buffer(get.SerializeAsString());
  pb::GetForgetRequestRequest out;
  // What the generated unary handlers call.
  grpc::Status st =
      grpc::SerializationTraits<grpc::protobuf::MessageLite>::Deserialize(&buffer, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "id: is not valid UTF-8 (string fields must be UTF-8)");
  google::rpc::ErrorInfo info = InfoOf(st);
  EXPECT_EQ(info.reason(), "INVALID_UTF8");
  EXPECT_EQ(info.domain(), "lethe.v1");
  EXPECT_EQ(info.metadata().at("field"), "id");

  // The streaming handlers parse through the concrete type.
  pb::DownloadModelVersionRequest dl;
  dl.set_model("m");
  dl.set_file("\xC0\xAF");
  grpc::ByteBuffer dl_buffer = Buffer(dl.SerializeAsString());
  pb::DownloadModelVersionRequest dl_out;
  st = grpc::SerializationTraits<pb::DownloadModelVersionRequest>::Deserialize(&dl_buffer, &dl_out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(InfoOf(st).metadata().at("field"), "file");
}

TEST(CheckedDeserializeTest, ValidMessagesParseAndGarbageIsMalformed) {
  pb::CancelForgetRequestRequest cancel;
  cancel.set_id("123e4567-e89b-42d3-a456-426614174000");
  cancel.set_reason("no longer needed \xE2\x9C\x93");
  grpc::ByteBuffer buffer = Buffer(cancel.SerializeAsString());
  pb::CancelForgetRequestRequest out;
  ASSERT_TRUE(
      grpc::SerializationTraits<grpc::protobuf::MessageLite>::Deserialize(&buffer, &out).ok());
  EXPECT_EQ(out.reason(), cancel.reason());

  grpc::ByteBuffer garbage = Buffer(std::string("\x0a\x7f", 2));  // length past the end
  grpc::Status st =
      grpc::SerializationTraits<grpc::protobuf::MessageLite>::Deserialize(&garbage, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(InfoOf(st).reason(), "MALFORMED_MESSAGE");
}

}  // namespace
}  // namespace lethe
