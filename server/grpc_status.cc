#include "server/grpc_status.h"

#include "common/errors.h"
#include "lethe/v1/common.pb.h"

namespace lethe {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  lethe::v1::ErrorDetail detail;
  detail.set_reason(ErrorReason(status));
  detail.set_domain("lethe.v1");
  if (auto info = GetErrorInfo(status)) {
    for (const auto& [k, v] : info->metadata) (*detail.mutable_metadata())[k] = v;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      detail.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  lethe::v1::ErrorDetail detail;
  if (!status.error_details().empty() && detail.ParseFromString(status.error_details()) &&
      !detail.reason().empty()) {
    std::map<std::string, std::string> meta(detail.metadata().begin(), detail.metadata().end());
    return MakeError(code, detail.reason(), status.error_message(), meta);
  }
  return absl::Status(code, status.error_message());
}

}  // namespace lethe
