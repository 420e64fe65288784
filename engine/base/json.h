// A small JSON value: parse, build, and serialise. Objects keep their keys sorted, so
// Dump() without indentation is canonical (the audit chain hashes it) and manifests and
// reports diff cleanly. Integers that fit int64 stay exact.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/error.h"

namespace lethe {

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::kBool), bool_(b) {}
  Json(int i) : type_(Type::kInt), int_(i) {}
  Json(int64_t i) : type_(Type::kInt), int_(i) {}
  Json(uint32_t i) : type_(Type::kInt), int_(i) {}
  Json(size_t i) : type_(Type::kInt), int_(int64_t(i)) {}
  Json(double d) : type_(Type::kDouble), double_(d) {}
  Json(float d) : type_(Type::kDouble), double_(d) {}
  Json(const char* s) : type_(Type::kString), string_(s) {}
  Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::kString), string_(s) {}

  static Json Array() { return Json(Type::kArray); }
  static Json Object() { return Json(Type::kObject); }
  template <typename T>
  static Json ArrayOf(const std::vector<T>& values) {
    Json a = Array();
    for (const auto& v : values) a.Push(Json(v));
    return a;
  }

  // Strict RFC 8259: rejects raw control characters in strings, invalid UTF-8 (truncated,
  // overlong, surrogate or above U+10FFFF), unpaired \u surrogate escapes, leading zeros
  // and numbers out of double range. Throws lethe::Error "json: CAUSE at offset N", N the
  // byte offset of the first problem.
  static Json Parse(std::string_view text);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors throw lethe::Error on a type mismatch.
  bool AsBool() const;
  int64_t AsInt() const;
  double AsDouble() const;
  const std::string& AsString() const;

  // Arrays.
  void Push(Json v);
  size_t size() const;  // elements of an array, members of an object
  const Json& operator[](size_t i) const;
  const std::vector<Json>& elements() const;

  // Objects. operator[] creates missing keys (turning null into an object).
  Json& operator[](const std::string& key);
  const Json& at(const std::string& key) const;  // throws naming the key
  bool Has(const std::string& key) const;
  const std::map<std::string, Json>& items() const;

  // Convenience getters with defaults for optional members.
  double GetDouble(const std::string& key, double def) const;
  int64_t GetInt(const std::string& key, int64_t def) const;
  std::string GetString(const std::string& key, const std::string& def) const;
  bool GetBool(const std::string& key, bool def) const;

  // indent < 0: compact canonical form; otherwise pretty-printed. Control characters are
  // escaped; strings should hold UTF-8, and a byte that starts no valid UTF-8 sequence is
  // written as U+FFFD, so that Parse() accepts every Dump().
  std::string Dump(int indent = -1) const;

  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

 private:
  explicit Json(Type t) : type_(t) {}
  void DumpTo(std::string& out, int indent, int depth) const;
  const char* TypeName() const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Json> array_;
  std::map<std::string, Json> object_;
};

}  // namespace lethe
