// AIP-158 paging: opaque, stable page tokens. A token is base64url of a small JSON
// document holding the keyset position (the sort key of the last row returned) and a
// fingerprint of the filters it was issued for; a token reused with other filters is
// refused. Keyset positions (not offsets) keep pages stable while rows are inserted.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/base/json.h"

namespace lethe {

std::string EncodePageToken(const Json& position, std::string_view filter_fingerprint);

// INVALID_ARGUMENT (reason INVALID_PAGE_TOKEN) for garbage or a filter mismatch.
absl::StatusOr<Json> DecodePageToken(std::string_view token, std::string_view filter_fingerprint);

// 0 -> default_size; negative -> INVALID_ARGUMENT; above max_size -> max_size.
absl::StatusOr<int> ResolvePageSize(int requested, int default_size, int max_size);

}  // namespace lethe
