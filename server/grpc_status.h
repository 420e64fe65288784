// absl::Status <-> grpc::Status. The code and message carry over unchanged; the reason
// and metadata (common/errors.h) travel as a serialized lethe.v1.ErrorDetail in the
// status's binary details.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lethe {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace lethe
