#include "proto/utf8_scan.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace lethe {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr int kMaxDepth = 100;  // protobuf's own recursion limit

// Returns false when the bytes are malformed; sets *bad to the first invalid field's path.
bool Scan(const Descriptor& type, std::string_view wire, const std::string& prefix, int depth,
          std::optional<std::string>* bad) {
  if (depth > kMaxDepth) return false;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()), int(wire.size()));
  in.SetTotalBytesLimit(INT32_MAX);
  std::map<int, int> seen;  // field number -> occurrences so far (index of repeated values)
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage() || in.CurrentPosition() == int(wire.size());
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    const bool is_string = field != nullptr && field->type() == FieldDescriptor::TYPE_STRING;
    const bool is_message = field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE;
    if (!delimited || (!is_string && !is_message)) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    std::string value;
    if (!WireFormatLite::ReadBytes(&in, &value)) return false;
    std::string path = prefix.empty() ? field->name() : prefix + "." + field->name();
    if (field->is_repeated() && !field->is_map()) {
      path += "[" + std::to_string(seen[number]++) + "]";
    }
    if (is_string) {
      if (!IsStructurallyValidUtf8(value)) {
        *bad = path;
        return true;
      }
    } else if (!Scan(*field->message_type(), value, path, depth + 1, bad)) {
      return false;
    } else if (bad->has_value()) {
      return true;
    }
  }
}

}  // namespace

bool IsStructurallyValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or past F4
    }
    if (i + size_t(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + size_t(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += size_t(len);
  }
  return true;
}

Utf8ScanResult ScanForInvalidUtf8(const Descriptor& type, std::string_view wire) {
  Utf8ScanResult result;
  std::optional<std::string> bad;
  if (!Scan(type, wire, "", 0, &bad)) {
    result.malformed = true;
    return result;
  }
  result.bad_field = std::move(bad);
  return result;
}

}  // namespace lethe
