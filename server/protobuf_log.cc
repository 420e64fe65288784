#include "server/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <atomic>

namespace lethe {
namespace {

// The Logger of the live redirect; protobuf's handler is a function pointer without a
// context argument, so it can only be reached through this.
std::atomic<Logger*> g_target{nullptr};

void Handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  Logger* log = g_target.load();
  if (log == nullptr) return;
  LogLevel ours = LogLevel::kError;
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      ours = LogLevel::kInfo;
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      ours = LogLevel::kWarn;
      break;
    default:
      ours = LogLevel::kError;
  }
  log->Log(ours, message,
           {{"source", "libprotobuf"}, {"file", std::string(filename)}, {"line", int64_t(line)}});
}

}  // namespace

ProtobufLogRedirect::ProtobufLogRedirect(Logger* log) {
  g_target.store(log);
  previous_ = google::protobuf::SetLogHandler(&Handle);
}

ProtobufLogRedirect::~ProtobufLogRedirect() {
  google::protobuf::SetLogHandler(previous_);
  g_target.store(nullptr);
}

}  // namespace lethe
