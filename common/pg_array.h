// PostgreSQL array literals for passing many values as ONE statement parameter
// (e.g. `unnest($1::text[])`): libpqxx 6 has no array parameters, and one statement with
// arrays replaces a round trip per row.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lethe {

// {"a","b\"c",NULL}: every element quoted, '"' and '\' escaped.
std::string PgTextArray(const std::vector<std::string>& values);
std::string PgTextArray(const std::vector<std::optional<std::string>>& values);
// Elements in bytea hex form ("\\x0a0b"), for `$1::bytea[]`.
std::string PgByteaArray(const std::vector<std::optional<std::string>>& values);

// Parses a one-dimensional text[] value as returned by PostgreSQL ({a,"b c",NULL}); NULL
// elements become std::nullopt. Returns false on malformed input.
bool ParsePgTextArray(const std::string& literal, std::vector<std::optional<std::string>>* out);

}  // namespace lethe
