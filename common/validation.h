// Input checks shared by every entry point, as small pure functions that return
// INVALID_ARGUMENT naming the field (via common/errors.h). Request-level validation
// (server/submit_validator) composes them in tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace lethe {

// Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Canonical UUID text 8-4-4-4-12 hex (either case).
bool IsUuid(std::string_view s);
std::string LowercaseUuid(std::string_view s);
// A random (version 4) UUID, lowercase.
std::string NewUuid();

struct TextRule {
  size_t max_bytes = 1000;
  bool required = false;
  bool allow_newlines = false;  // \n and \t; other control characters are always refused
};
absl::Status CheckText(std::string_view field, std::string_view value, const TextRule& rule);

// Training item ids: 1..256 bytes of UTF-8 without control characters or backslashes,
// relative ("train/123", "shirt/a.png"): no leading or trailing "/", no empty, "." or ".."
// segments.
inline constexpr size_t kMaxItemIdBytes = 256;
absl::Status CheckItemId(std::string_view field, std::string_view id);

// Model names: [a-z0-9][a-z0-9._-]{0,62}.
absl::Status CheckModelName(std::string_view field, std::string_view name);

// Finite and within [min, max] (bounds inclusive unless the flags say otherwise).
absl::Status CheckRange(std::string_view field, double value, double min, double max,
                        bool min_inclusive = true, bool max_inclusive = true);

}  // namespace lethe
