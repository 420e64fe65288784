#include "common/logging.h"

#include <chrono>
#include <ctime>

namespace lethe {

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warn") {
    *level = LogLevel::kWarn;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = std::time_t(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(micros % 1000000));
  return buf;
}

Logger::Logger(std::string component, LogLevel min_level, std::FILE* out)
    : component_(std::move(component)), min_level_(min_level), out_(out) {}

std::string Logger::Format(LogLevel level, std::string_view msg, const LogFields& fields) const {
  Json line = Json::Object();
  for (const auto& [key, value] : fields) line[key] = value;
  // Reserved keys win over fields of the same name.
  line["ts"] = NowRfc3339();
  line["level"] = LogLevelName(level);
  line["msg"] = std::string(msg);
  line["component"] = component_;
  return line.Dump();
}

void Logger::Log(LogLevel level, std::string_view msg, const LogFields& fields) {
  if (!Enabled(level)) return;
  std::string text = Format(level, msg, fields);
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace lethe
