#include "common/page_token.h"

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/errors.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

std::string ShortFingerprint(std::string_view filter) { return Sha256Hex(filter).substr(0, 16); }

absl::Status BadToken(const std::string& why) {
  return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                   absl::StrCat("page_token: ", why), {{"field", "page_token"}});
}

}  // namespace

std::string EncodePageToken(const Json& position, std::string_view filter_fingerprint) {
  Json j = Json::Object();
  j["v"] = 1;
  j["p"] = position;
  j["f"] = ShortFingerprint(filter_fingerprint);
  return Base64UrlEncode(j.Dump());
}

absl::StatusOr<Json> DecodePageToken(std::string_view token, std::string_view filter_fingerprint) {
  if (token.size() > 2048) return BadToken("is too long");
  std::string raw;
  if (!Base64UrlDecode(token, &raw)) return BadToken("is not a token issued by this server");
  try {
    Json j = Json::Parse(raw);
    if (j.GetInt("v", 0) != 1 || !j.Has("p")) {
      return BadToken("is not a token issued by this server");
    }
    if (j.GetString("f", "") != ShortFingerprint(filter_fingerprint)) {
      return BadToken("was issued for different filters; repeat the first request's filters");
    }
    return j.at("p");
  } catch (const std::exception&) {
    return BadToken("is not a token issued by this server");
  }
}

absl::StatusOr<int> ResolvePageSize(int requested, int default_size, int max_size) {
  if (requested < 0) {
    return InvalidField("page_size", absl::StrCat(requested, " is negative"), "OUT_OF_RANGE");
  }
  if (requested == 0) return default_size;
  return requested > max_size ? max_size : requested;
}

}  // namespace lethe
