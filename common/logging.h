// Structured logs: one JSON object per line (ts, level, msg, component and any fields such
// as request_id or job_id), so logs can be shipped and queried without parsing prose.
// Never pass uploaded image bytes or token secrets as fields.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/json.h"

namespace lethe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn", "error"; false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);
const char* LogLevelName(LogLevel level);

using LogFields = std::vector<std::pair<std::string, Json>>;

// Thread-safe: each line is written with one fwrite under a mutex. The process owns one
// Logger and passes it to whatever logs.
class Logger {
 public:
  explicit Logger(std::string component, LogLevel min_level = LogLevel::kInfo,
                  std::FILE* out = stderr);

  void Log(LogLevel level, std::string_view msg, const LogFields& fields = {});
  void Debug(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kDebug, msg, fields);
  }
  void Info(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kError, msg, fields);
  }

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void set_min_level(LogLevel level) { min_level_ = level; }

  // The line Log() would write (without the trailing newline); for tests.
  std::string Format(LogLevel level, std::string_view msg, const LogFields& fields) const;

 private:
  std::string component_;
  LogLevel min_level_;
  std::FILE* out_;
  std::mutex mu_;
};

// RFC 3339 UTC timestamp with microseconds, e.g. "2024-05-01T12:00:00.123456Z".
std::string NowRfc3339();

}  // namespace lethe
