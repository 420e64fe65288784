#include "common/pg_array.h"

namespace lethe {
namespace {

void AppendQuoted(std::string& out, const std::string& v) {
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    AppendQuoted(out, values[i]);
  }
  out += '}';
  return out;
}

std::string PgTextArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if (values[i]) {
      AppendQuoted(out, *values[i]);
    } else {
      out += "NULL";
    }
  }
  out += '}';
  return out;
}

std::string PgByteaArray(const std::vector<std::optional<std::string>>& values) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += "\"\\\\x";
    for (unsigned char c : *values[i]) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    out += '"';
  }
  out += '}';
  return out;
}

bool ParsePgTextArray(const std::string& s, std::vector<std::optional<std::string>>* out) {
  out->clear();
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return false;
  size_t i = 1;
  const size_t end = s.size() - 1;
  if (i == end) return true;
  while (i <= end) {
    if (s[i] == '"') {
      std::string v;
      ++i;
      while (i < end && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < end) ++i;
        v += s[i++];
      }
      if (i >= end) return false;
      ++i;  // closing quote
      out->push_back(v);
    } else {
      size_t j = i;
      while (j < end && s[j] != ',') ++j;
      std::string v = s.substr(i, j - i);
      if (v == "NULL") {
        out->push_back(std::nullopt);
      } else {
        out->push_back(v);
      }
      i = j;
    }
    if (i == end) return true;
    if (s[i] != ',') return false;
    ++i;
  }
  return false;
}

}  // namespace lethe
