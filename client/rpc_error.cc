#include "client/rpc_error.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lethe::cli {
namespace {

using google::protobuf::internal::WireFormatLite;

// Reads the length-delimited fields `field` of a message; false on malformed input.
bool ReadBytesFields(const std::string& data, int field, std::vector<std::string>* out) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()),
                                            static_cast<int>(data.size()));
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage() || in.CurrentPosition() == int(data.size());
    if (WireFormatLite::GetTagFieldNumber(tag) == field &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string value;
      if (!WireFormatLite::ReadBytes(&in, &value)) return false;
      out->push_back(std::move(value));
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

int ExitCodeForStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitUsage;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitPermission;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return kExitConflict;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitUnavailable;
    case grpc::StatusCode::DATA_LOSS:
      return kExitIntegrity;
    default:
      return kExitFailure;
  }
}

std::optional<google::rpc::ErrorInfo> ParseErrorDetail(const std::string& details) {
  if (details.empty()) return std::nullopt;
  // google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  // with Any { string type_url = 1; bytes value = 2; }.
  std::vector<std::string> anys;
  if (ReadBytesFields(details, 3, &anys)) {
    for (const std::string& any : anys) {
      std::vector<std::string> type_url, value;
      if (!ReadBytesFields(any, 1, &type_url) || !ReadBytesFields(any, 2, &value)) continue;
      if (type_url.empty()) continue;
      // ErrorInfo and the older lethe.v1.ErrorDetail share their field numbers and types.
      if (!absl::EndsWith(type_url.back(), "/google.rpc.ErrorInfo") &&
          !absl::EndsWith(type_url.back(), "/lethe.v1.ErrorDetail")) {
        continue;
      }
      google::rpc::ErrorInfo info;
      if (info.ParseFromString(value.empty() ? std::string() : value.back()) &&
          !info.reason().empty()) {
        return info;
      }
    }
  }
  google::rpc::ErrorInfo legacy;  // a bare lethe.v1.ErrorDetail
  if (legacy.ParseFromString(details) && legacy.domain() == "lethe.v1") return legacy;
  return std::nullopt;
}

bool CallNeverReachedServer(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  // gRPC's load-balancing policies fail a call with these messages when no subchannel
  // could connect; nothing of the call was written to any server.
  const std::string& m = status.error_message();
  return absl::StrContains(m, "failed to connect to all addresses") ||
         absl::StrContains(m, "DNS resolution failed") ||
         absl::StartsWith(m, "empty address list") || absl::StrContains(m, "Connection refused");
}

std::string FormatRpcError(const grpc::Status& status) {
  std::string line = StatusCodeName(status.error_code());
  std::string message = OneLine(status.error_message());
  if (!message.empty()) absl::StrAppend(&line, ": ", message);
  std::optional<google::rpc::ErrorInfo> detail = ParseErrorDetail(status.error_details());
  if (detail && !detail->reason().empty()) {
    absl::StrAppend(&line, " [reason=", detail->reason());
    // Sorted, so the line is the same on every run.
    std::map<std::string, std::string> metadata(detail->metadata().begin(),
                                                detail->metadata().end());
    for (const auto& [k, v] : metadata) absl::StrAppend(&line, " ", k, "=", OneLine(v));
    absl::StrAppend(&line, "]");
  }
  return line;
}

}  // namespace lethe::cli
