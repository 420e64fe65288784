// How gRPC turns Lethe's messages into bytes and back. Protobuf refuses a proto3 `string`
// field holding invalid UTF-8 before any handler runs, and gRPC then answers INTERNAL with
// an empty message. These SerializationTraits scan the bytes first and answer
// INVALID_ARGUMENT with a google.rpc.Status / ErrorInfo (reason INVALID_UTF8 and the field;
// MALFORMED_MESSAGE for bytes that are no message at all). Serialization is unchanged.
//
// The generated .grpc.pb.h files include this header right after their messages
// (grpc_cpp_plugin's additional_header_includes, see proto/CMakeLists.txt), so every use
// sees these specialisations. gRPC's unary handlers and stubs parse through
// SerializationTraits<MessageLite>; the server-streaming handlers through the concrete
// request types, which are listed here too.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>

namespace lethe::v1 {
class WatchForgetRequestRequest;
class DownloadModelVersionRequest;
}  // namespace lethe::v1

namespace lethe {

// Parses `buffer` into `msg` as described above; clears the buffer.
grpc::Status CheckedDeserialize(grpc::ByteBuffer* buffer, grpc::protobuf::MessageLite* msg);

}  // namespace lethe

namespace grpc {

#define LETHE_CHECKED_SERIALIZATION_TRAITS(T)                                         \
  template <>                                                                         \
  class SerializationTraits<T, void> {                                                \
   public:                                                                            \
    static Status Serialize(const grpc::protobuf::MessageLite& msg, ByteBuffer* bb,   \
                            bool* own_buffer);                                        \
    static Status Deserialize(ByteBuffer* buffer, grpc::protobuf::MessageLite* msg) { \
      return ::lethe::CheckedDeserialize(buffer, msg);                                \
    }                                                                                 \
  };

LETHE_CHECKED_SERIALIZATION_TRAITS(grpc::protobuf::MessageLite)
LETHE_CHECKED_SERIALIZATION_TRAITS(::lethe::v1::WatchForgetRequestRequest)
LETHE_CHECKED_SERIALIZATION_TRAITS(::lethe::v1::DownloadModelVersionRequest)

#undef LETHE_CHECKED_SERIALIZATION_TRAITS

}  // namespace grpc
