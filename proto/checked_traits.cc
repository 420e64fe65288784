#include "proto/checked_traits.h"

#include <google/protobuf/message.h>

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "lethe/v1/models.pb.h"
#include "lethe/v1/unlearning.pb.h"
#include "proto/utf8_scan.h"

namespace lethe {
namespace {

grpc::Status InvalidArgument(const std::string& message, const std::string& reason,
                             const std::string& field) {
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain("lethe.v1");
  if (!field.empty()) (*info.mutable_metadata())["field"] = field;
  google::rpc::Status status;
  status.set_code(int(grpc::StatusCode::INVALID_ARGUMENT));
  status.set_message(message);
  status.add_details()->PackFrom(info);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message, status.SerializeAsString());
}

}  // namespace

grpc::Status CheckedDeserialize(grpc::ByteBuffer* buffer, grpc::protobuf::MessageLite* msg) {
  if (buffer == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "No payload");
  std::string wire;
  {
    std::vector<grpc::Slice> slices;
    grpc::Status dumped = buffer->Dump(&slices);
    buffer->Clear();
    if (!dumped.ok()) return dumped;
    size_t total = 0;
    for (const grpc::Slice& s : slices) total += s.size();
    wire.reserve(total);
    for (const grpc::Slice& s : slices)
      wire.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  const std::string type = msg->GetTypeName();
  if (auto* full = dynamic_cast<google::protobuf::Message*>(msg)) {
    Utf8ScanResult scan = ScanForInvalidUtf8(*full->GetDescriptor(), wire);
    if (scan.bad_field) {
      return InvalidArgument(*scan.bad_field + ": is not valid UTF-8 (string fields must be UTF-8)",
                             "INVALID_UTF8", *scan.bad_field);
    }
    if (scan.malformed) {
      return InvalidArgument("the message is not a valid encoding of " + type, "MALFORMED_MESSAGE",
                             "");
    }
  }
  if (!msg->ParseFromString(wire)) {
    return InvalidArgument("the message is not a valid encoding of " + type, "MALFORMED_MESSAGE",
                           "");
  }
  return grpc::Status::OK;
}

}  // namespace lethe

namespace grpc {

#define LETHE_CHECKED_SERIALIZE(T)                                                       \
  Status SerializationTraits<T, void>::Serialize(const grpc::protobuf::MessageLite& msg, \
                                                 ByteBuffer* bb, bool* own_buffer) {     \
    return GenericSerialize<ProtoBufferWriter, T>(msg, bb, own_buffer);                  \
  }

LETHE_CHECKED_SERIALIZE(grpc::protobuf::MessageLite)
LETHE_CHECKED_SERIALIZE(::lethe::v1::WatchForgetRequestRequest)
LETHE_CHECKED_SERIALIZE(::lethe::v1::DownloadModelVersionRequest)

#undef LETHE_CHECKED_SERIALIZE

}  // namespace grpc
