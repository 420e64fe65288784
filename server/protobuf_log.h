// Routes protobuf's own log lines ("[libprotobuf ERROR ...]", written raw to stderr by
// default) into the structured JSON log, so the log stays one JSON object per line.
// Protobuf keeps a single process-wide handler (a plain function pointer), so the redirect
// is scoped: construct one in main() for the process's Logger; destruction restores the
// default handler.
#pragma once

#include <google/protobuf/stubs/logging.h>

#include "common/logging.h"

namespace lethe {

class ProtobufLogRedirect {
 public:
  explicit ProtobufLogRedirect(Logger* log);
  ~ProtobufLogRedirect();
  ProtobufLogRedirect(const ProtobufLogRedirect&) = delete;
  ProtobufLogRedirect& operator=(const ProtobufLogRedirect&) = delete;

 private:
  google::protobuf::LogHandler* previous_;
};

}  // namespace lethe
