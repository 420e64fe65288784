#include "common/errors.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/base/json.h"

namespace lethe {

absl::Status MakeError(absl::StatusCode code, std::string_view reason, std::string_view message,
                       const std::map<std::string, std::string>& metadata) {
  absl::Status status(code, std::string(message));
  Json info = Json::Object();
  info["reason"] = std::string(reason);
  Json meta = Json::Object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  info["metadata"] = meta;
  status.SetPayload(kErrorInfoPayloadUrl, absl::Cord(info.Dump()));
  return status;
}

absl::Status InvalidField(std::string_view field, std::string_view problem,
                          std::string_view reason) {
  return MakeError(absl::StatusCode::kInvalidArgument, reason,
                   absl::StrCat(std::string(field), ": ", std::string(problem)),
                   {{"field", std::string(field)}});
}

std::optional<ErrorInfo> GetErrorInfo(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorInfoPayloadUrl);
  if (!payload) return std::nullopt;
  try {
    Json info = Json::Parse(std::string(*payload));
    ErrorInfo out;
    out.reason = info.GetString("reason", "");
    if (info.Has("metadata")) {
      for (const auto& [k, v] : info.at("metadata").items()) out.metadata[k] = v.AsString();
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string ErrorReason(const absl::Status& status) {
  std::optional<ErrorInfo> info = GetErrorInfo(status);
  if (info && !info->reason.empty()) return info->reason;
  return absl::AsciiStrToUpper(absl::StatusCodeToString(status.code()));
}

}  // namespace lethe
