#include "common/validation.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/errors.h"

namespace lethe {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    uint8_t c = uint8_t(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      uint8_t cc = uint8_t(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;  // overlong
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::string LowercaseUuid(std::string_view s) { return absl::AsciiStrToLower(std::string(s)); }

std::string NewUuid() {
  std::string b = RandomBytes(16);
  b[6] = char((uint8_t(b[6]) & 0x0f) | 0x40);
  b[8] = char((uint8_t(b[8]) & 0x3f) | 0x80);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[uint8_t(b[i]) >> 4];
    out += kHex[uint8_t(b[i]) & 15];
  }
  return out;
}

absl::Status CheckText(std::string_view field, std::string_view value, const TextRule& rule) {
  if (value.empty()) {
    if (rule.required) return InvalidField(field, "is required", "MISSING_FIELD");
    return absl::OkStatus();
  }
  if (value.size() > rule.max_bytes) {
    return InvalidField(field,
                        absl::StrCat("is ", value.size(), " bytes; the limit is ", rule.max_bytes),
                        "FIELD_TOO_LONG");
  }
  if (!IsValidUtf8(value)) return InvalidField(field, "is not valid UTF-8", "INVALID_UTF8");
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool allowed_ws = rule.allow_newlines && (c == '\n' || c == '\t');
    if ((c < 0x20 && !allowed_ws) || c == 0x7f) {
      return InvalidField(field, "contains a control character", "CONTROL_CHARACTER");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckItemId(std::string_view field, std::string_view id) {
  auto bad = [&](const std::string& problem) {
    std::string shown(id.substr(0, 80));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_ITEM_ID",
                     absl::StrCat(std::string(field), ": item id \"", shown, "\" ", problem),
                     {{"field", std::string(field)}});
  };
  if (id.empty()) return bad("is empty");
  if (id.size() > kMaxItemIdBytes) {
    return bad(absl::StrCat("is longer than ", kMaxItemIdBytes, " bytes"));
  }
  if (!IsValidUtf8(id)) return bad("is not valid UTF-8");
  for (char ch : id) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
    if (c == '\\') return bad("contains a backslash");
  }
  if (id.front() == '/') return bad("must be relative (starts with \"/\")");
  if (id.back() == '/') return bad("ends with \"/\"");
  size_t start = 0;
  while (start <= id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string_view::npos) end = id.size();
    std::string_view seg = id.substr(start, end - start);
    if (seg.empty()) return bad("has an empty path segment");
    if (seg == "." || seg == "..") return bad("has a \".\" or \"..\" segment");
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::Status CheckModelName(std::string_view field, std::string_view name) {
  if (name.empty()) return InvalidField(field, "is required", "MISSING_FIELD");
  bool ok = name.size() <= 63 && (absl::ascii_islower(static_cast<unsigned char>(name[0])) ||
                                  absl::ascii_isdigit(static_cast<unsigned char>(name[0])));
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-')) {
      ok = false;
    }
  }
  if (!ok) {
    std::string shown(name.substr(0, 80));
    return InvalidField(field,
                        absl::StrCat("\"", IsValidUtf8(shown) ? shown : "<binary>",
                                     "\" is not a model name ([a-z0-9][a-z0-9._-]{0,62})"),
                        "INVALID_MODEL_NAME");
  }
  return absl::OkStatus();
}

absl::Status CheckRange(std::string_view field, double value, double min, double max,
                        bool min_inclusive, bool max_inclusive) {
  if (!std::isfinite(value)) return InvalidField(field, "must be a finite number", "OUT_OF_RANGE");
  bool lo_ok = min_inclusive ? value >= min : value > min;
  bool hi_ok = max_inclusive ? value <= max : value < max;
  if (!lo_ok || !hi_ok) {
    return InvalidField(field,
                        absl::StrCat(value, " is outside ", min_inclusive ? "[" : "(", min, ", ",
                                     max, max_inclusive ? "]" : ")"),
                        "OUT_OF_RANGE");
  }
  return absl::OkStatus();
}

}  // namespace lethe
