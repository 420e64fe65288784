#include "server/grpc_status.h"

#include "common/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace lethe {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::ErrorInfo info;
  info.set_reason(ErrorReason(status));
  info.set_domain(kErrorDomain);
  if (auto attached = GetErrorInfo(status)) {
    for (const auto& [k, v] : attached->metadata) (*info.mutable_metadata())[k] = v;
  }
  google::rpc::Status rpc_status;
  rpc_status.set_code(int(status.code()));
  rpc_status.set_message(std::string(status.message()));
  rpc_status.add_details()->PackFrom(info);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& any : rpc_status.details()) {
      google::rpc::ErrorInfo info;
      if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info) && !info.reason().empty()) {
        std::map<std::string, std::string> meta(info.metadata().begin(), info.metadata().end());
        return MakeError(code, info.reason(), status.error_message(), meta);
      }
    }
  }
  return absl::Status(code, status.error_message());
}

}  // namespace lethe
