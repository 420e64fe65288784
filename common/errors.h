// Errors with a machine-readable reason. Callers of the API need more than a status code
// and prose: each error carries a stable UPPER_SNAKE_CASE reason and key/value metadata
// (e.g. field="hyperparameters.fake_label") as an absl::Status payload; the gRPC layer
// turns it into lethe.v1.ErrorDetail in the status details.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace lethe {

struct ErrorInfo {
  std::string reason;
  std::map<std::string, std::string> metadata;
};

inline constexpr char kErrorInfoPayloadUrl[] = "type.googleapis.com/lethe.v1.ErrorDetail";

absl::Status MakeError(absl::StatusCode code, std::string_view reason, std::string_view message,
                       const std::map<std::string, std::string>& metadata = {});

// INVALID_ARGUMENT naming the field: message "<field>: <problem>", reason INVALID_FIELD
// unless given.
absl::Status InvalidField(std::string_view field, std::string_view problem,
                          std::string_view reason = "INVALID_FIELD");

// The reason and metadata attached by MakeError; nullopt for a plain status.
std::optional<ErrorInfo> GetErrorInfo(const absl::Status& status);

// The reason to report for `status`: the attached one, else the code's name
// ("NOT_FOUND").
std::string ErrorReason(const absl::Status& status);

}  // namespace lethe
