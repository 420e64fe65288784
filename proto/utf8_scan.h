// Finds the first proto3 `string` field that holds invalid UTF-8 in a serialized message,
// by walking the wire format with the message's descriptor. Protobuf's own parser refuses
// such a message without saying which field (and logs to stderr); the server scans first
// so that it can answer INVALID_ARGUMENT naming the field. Pure logic: no I/O.
#pragma once

#include <google/protobuf/descriptor.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lethe {

struct Utf8ScanResult {
  bool malformed = false;                // the bytes are not a valid wire encoding
  std::optional<std::string> bad_field;  // e.g. "items.item_ids[3]"
};

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsStructurallyValidUtf8(std::string_view s);

// Scans `wire` as a `type` message, nested messages and map entries included. Fields the
// descriptor does not know are skipped. Stops at the first invalid string.
Utf8ScanResult ScanForInvalidUtf8(const google::protobuf::Descriptor& type, std::string_view wire);

}  // namespace lethe
