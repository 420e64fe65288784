#include "engine/base/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace lethe {
namespace {

std::string Hex2(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02x", c);
  return buf;
}

// Length of the well-formed UTF-8 sequence that starts at s[i] (1 to 4), or 0 with
// *problem set when the bytes there are not one (RFC 3629: no overlong forms, no encoded
// surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i, std::string* problem) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else if (c == 0xC0 || c == 0xC1) {
    *problem = "overlong UTF-8 encoding (lead byte " + Hex2(c) + ")";
    return 0;
  } else if (c >= 0xF5 && c <= 0xF7) {
    *problem = "invalid UTF-8 byte " + Hex2(c) + " (code point above U+10FFFF)";
    return 0;
  } else if (c >= 0xF8) {
    *problem = "invalid UTF-8 byte " + Hex2(c);
    return 0;
  } else {
    *problem = "invalid UTF-8: unexpected continuation byte " + Hex2(c);
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      *problem = "truncated UTF-8 sequence";
      return 0;
    }
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) {
      *problem = "truncated UTF-8 sequence (byte " + Hex2(b) + " is not a continuation byte)";
      return 0;
    }
    if (k == 1 && (b < lo || b > hi)) {
      if (c == 0xED) {
        *problem = "UTF-8 encoded surrogate (U+D800-U+DFFF)";
      } else if (c == 0xF4) {
        *problem = "UTF-8 code point above U+10FFFF";
      } else {
        *problem = "overlong UTF-8 encoding";
      }
      return 0;
    }
  }
  return len;
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Json ParseDocument() {
    Json v = ParseValue(0);
    SkipSpace();
    if (pos_ != s_.size()) Fail("trailing characters");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 128;

  [[noreturn]] void FailAt(size_t offset, const std::string& what) {
    throw Error("json: " + what + " at offset " + std::to_string(offset));
  }
  [[noreturn]] void Fail(const std::string& what) { FailAt(pos_, what); }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool Consume(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) == lit) {
      pos_ += lit.size();
      return true;
    }
    return false;
  }
  Json ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= s_.size()) Fail("unexpected end");
    char c = s_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') return Json(ParseString());
    if (Consume("true")) return Json(true);
    if (Consume("false")) return Json(false);
    if (Consume("null")) return Json();
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) Fail("unexpected byte " + Hex2(u));
    Fail(std::string("unexpected character '") + c + "'");
  }
  Json ParseObject(int depth) {
    ++pos_;
    Json obj = Json::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return obj;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') Fail("expected a string key");
      std::string key = ParseString();
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') Fail("expected ':'");
      ++pos_;
      obj[key] = ParseValue(depth + 1);
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return obj;
      }
      Fail("expected ',' or '}'");
    }
  }
  Json ParseArray(int depth) {
    ++pos_;
    Json arr = Json::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return arr;
    }
    while (true) {
      arr.Push(ParseValue(depth + 1));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return arr;
      }
      Fail("expected ',' or ']'");
    }
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  uint32_t ParseHex4() {
    if (pos_ + 4 > s_.size()) Fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        FailAt(pos_ - 1, "bad hex digit in \\u escape");
    }
    return v;
  }
  std::string ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) Fail("unterminated string");
      const char c = s_[pos_];
      const unsigned char u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (u < 0x20) Fail("raw control character " + Hex2(u) + " in string");
      if (u >= 0x80) {
        std::string problem;
        const size_t len = Utf8SequenceLength(s_, pos_, &problem);
        if (len == 0) Fail(problem + " in string");
        out.append(s_.data() + pos_, len);
        pos_ += len;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) Fail("unterminated escape");
      const size_t escape_at = pos_ - 1;
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = ParseHex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by the escape of a low one; the pair
            // decodes to one code point.
            if (!Consume("\\u")) FailAt(escape_at, "unpaired high surrogate escape");
            uint32_t lo = ParseHex4();
            if (lo < 0xDC00 || lo > 0xDFFF) {
              FailAt(escape_at, "high surrogate escape not followed by a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            FailAt(escape_at, "unpaired low surrogate escape");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          FailAt(escape_at, "bad escape");
      }
    }
  }
  Json ParseNumber() {
    size_t start = pos_;
    bool is_double = false;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == d) Fail("expected digits");
    };
    if (pos_ + 1 < s_.size() && s_[pos_] == '0' && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9')
      Fail("number with a leading zero");
    digits();
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_double = true;
      ++pos_;
      digits();
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      is_double = true;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      digits();
    }
    std::string text(s_.substr(start, pos_ - start));
    if (!is_double) {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0') return Json(int64_t(v));
    }
    const double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) FailAt(start, "number out of range");
    return Json(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void EscapeString(std::string& out, const std::string& s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Multi-byte UTF-8 is written as it is; a byte that starts no valid sequence
      // becomes U+FFFD, so that every Dump() is valid JSON that Parse() accepts.
      std::string problem;
      const size_t len = Utf8SequenceLength(s, i, &problem);
      if (len == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s, i, len);
        i += len;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Json Json::Parse(std::string_view text) { return Parser(text).ParseDocument(); }

const char* Json::TypeName() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "integer";
    case Type::kDouble:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "?";
}

bool Json::AsBool() const {
  if (type_ != Type::kBool) throw Error(std::string("JSON: expected bool, got ") + TypeName());
  return bool_;
}
int64_t Json::AsInt() const {
  if (type_ == Type::kInt) return int_;
  if (type_ == Type::kDouble && std::floor(double_) == double_ && std::fabs(double_) < 9e15)
    return int64_t(double_);
  throw Error(std::string("JSON: expected integer, got ") + TypeName());
}
double Json::AsDouble() const {
  if (type_ == Type::kDouble) return double_;
  if (type_ == Type::kInt) return double(int_);
  throw Error(std::string("JSON: expected number, got ") + TypeName());
}
const std::string& Json::AsString() const {
  if (type_ != Type::kString) throw Error(std::string("JSON: expected string, got ") + TypeName());
  return string_;
}

void Json::Push(Json v) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  if (type_ != Type::kArray) throw Error(std::string("JSON: cannot push to ") + TypeName());
  array_.push_back(std::move(v));
}
size_t Json::size() const {
  if (type_ == Type::kArray) return array_.size();
  if (type_ == Type::kObject) return object_.size();
  return 0;
}
const Json& Json::operator[](size_t i) const {
  if (type_ != Type::kArray) throw Error(std::string("JSON: expected array, got ") + TypeName());
  if (i >= array_.size()) throw Error("JSON: index " + std::to_string(i) + " out of range");
  return array_[i];
}
const std::vector<Json>& Json::elements() const {
  if (type_ != Type::kArray) throw Error(std::string("JSON: expected array, got ") + TypeName());
  return array_;
}

Json& Json::operator[](const std::string& key) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  if (type_ != Type::kObject) throw Error(std::string("JSON: expected object, got ") + TypeName());
  return object_[key];
}
const Json& Json::at(const std::string& key) const {
  if (type_ != Type::kObject) throw Error(std::string("JSON: expected object, got ") + TypeName());
  auto it = object_.find(key);
  if (it == object_.end()) throw Error("JSON: missing key \"" + key + "\"");
  return it->second;
}
bool Json::Has(const std::string& key) const {
  return type_ == Type::kObject && object_.count(key) > 0;
}
const std::map<std::string, Json>& Json::items() const {
  if (type_ != Type::kObject) throw Error(std::string("JSON: expected object, got ") + TypeName());
  return object_;
}

double Json::GetDouble(const std::string& key, double def) const {
  return Has(key) && !at(key).is_null() ? at(key).AsDouble() : def;
}
int64_t Json::GetInt(const std::string& key, int64_t def) const {
  return Has(key) && !at(key).is_null() ? at(key).AsInt() : def;
}
std::string Json::GetString(const std::string& key, const std::string& def) const {
  return Has(key) && !at(key).is_null() ? at(key).AsString() : def;
}
bool Json::GetBool(const std::string& key, bool def) const {
  return Has(key) && !at(key).is_null() ? at(key).AsBool() : def;
}

void Json::DumpTo(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent * d), ' ');
  };
  switch (type_) {
    case Type::kNull:
      out += "null";
      break;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      break;
    case Type::kInt:
      out += std::to_string(int_);
      break;
    case Type::kDouble: {
      if (!std::isfinite(double_)) {
        out += "null";  // JSON has no NaN/Inf
        break;
      }
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", double_);
      // Prefer the shortest representation that round-trips.
      for (int prec = 6; prec < 17; ++prec) {
        char shorter[32];
        std::snprintf(shorter, sizeof(shorter), "%.*g", prec, double_);
        if (std::strtod(shorter, nullptr) == double_) {
          std::snprintf(buf, sizeof(buf), "%s", shorter);
          break;
        }
      }
      out += buf;
      break;
    }
    case Type::kString:
      EscapeString(out, string_);
      break;
    case Type::kArray: {
      out += '[';
      for (size_t i = 0; i < array_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        array_[i].DumpTo(out, indent, depth + 1);
      }
      if (!array_.empty()) newline(depth);
      out += ']';
      break;
    }
    case Type::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : object_) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        EscapeString(out, k);
        out += indent < 0 ? ":" : ": ";
        v.DumpTo(out, indent, depth + 1);
      }
      if (!object_.empty()) newline(depth);
      out += '}';
      break;
    }
  }
}

std::string Json::Dump(int indent) const {
  std::string out;
  DumpTo(out, indent, 0);
  return out;
}

bool Json::operator==(const Json& o) const {
  if (is_number() && o.is_number()) {
    if (type_ == Type::kInt && o.type_ == Type::kInt) return int_ == o.int_;
    return AsDouble() == o.AsDouble();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == o.bool_;
    case Type::kString:
      return string_ == o.string_;
    case Type::kArray:
      return array_ == o.array_;
    case Type::kObject:
      return object_ == o.object_;
    default:
      return false;
  }
}

}  // namespace lethe
