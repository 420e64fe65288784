// absl::Status <-> grpc::Status. The code and message carry over unchanged; the reason
// and metadata (common/errors.h) travel as the standard rich error model (AIP-193): a
// serialized google.rpc.Status in the status's binary details (the
// grpc-status-details-bin trailer) whose details hold one google.rpc.ErrorInfo with
// domain "lethe.v1", so standard client helpers (grpcio-status, ...) read them.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lethe {

inline constexpr char kErrorDomain[] = "lethe.v1";

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace lethe
