// The frame every lethectl command runs in: its parsed flags, where to print, the gRPC
// stubs (with the deadline and bearer token applied per call) and helpers that turn
// failures into one stderr line and an exit status. Commands are data (CommandDef), so
// help, dispatch and tests see the same table.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/args.h"
#include "client/connection.h"
#include "lethe/v1/audit.grpc.pb.h"
#include "lethe/v1/models.grpc.pb.h"
#include "lethe/v1/tokens.grpc.pb.h"
#include "lethe/v1/unlearning.grpc.pb.h"

namespace lethe::cli {

// The process's outside world, injectable for tests.
struct Io {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool out_is_tty = false;
  std::function<double()> now;  // monotonic seconds
  std::function<void(double)> sleep;
};

// Stubs of the four services on one channel.
class Rpc {
 public:
  Rpc(std::shared_ptr<grpc::ChannelInterface> channel, std::string token,
      std::optional<double> timeout_seconds);
  // A context for one call: deadline = --timeout if given, else `default_seconds`.
  std::unique_ptr<grpc::ClientContext> Context(
      double default_seconds = kDefaultTimeoutSeconds) const;
  // A context with exactly this deadline (for streams that budget their own time).
  std::unique_ptr<grpc::ClientContext> ContextWithDeadline(double seconds) const;
  std::optional<double> timeout_seconds() const { return timeout_seconds_; }

  lethe::v1::Unlearning::StubInterface& unlearning() { return *unlearning_; }
  lethe::v1::Models::StubInterface& models() { return *models_; }
  lethe::v1::Audit::StubInterface& audit() { return *audit_; }
  lethe::v1::Tokens::StubInterface& tokens() { return *tokens_; }

 private:
  std::string token_;
  std::optional<double> timeout_seconds_;
  std::unique_ptr<lethe::v1::Unlearning::StubInterface> unlearning_;
  std::unique_ptr<lethe::v1::Models::StubInterface> models_;
  std::unique_ptr<lethe::v1::Audit::StubInterface> audit_;
  std::unique_ptr<lethe::v1::Tokens::StubInterface> tokens_;
};

struct CommandContext {
  const ParsedArgs& args;
  Io& io;
  Rpc& rpc;
  bool json = false;
  std::string server;   // the target, for reports
  std::string command;  // "submit item", for messages

  std::ostream& out() { return *io.out; }
  std::ostream& err() { return *io.err; }
  // "lethectl: MESSAGE" on stderr; returns kExitUsage.
  int Usage(const std::string& message);
  // "lethectl: MESSAGE" on stderr; returns `code`.
  int Fail(int code, const std::string& message);
  // "lethectl: CODE: message [reason=...]" on stderr; returns the status's exit code.
  int RpcFailure(const grpc::Status& status);
  // A note on stderr ("lethectl: ..."), e.g. the generated request id.
  void Note(const std::string& message);
};

using Handler = std::function<int(CommandContext&)>;

struct CommandDef {
  std::vector<std::string> words;  // {"models", "list"}
  std::string synopsis;            // arguments after the words, for help
  std::string summary;
  std::vector<FlagSpec> flags;  // the command's own flags (globals are added)
  size_t min_positionals = 0;
  size_t max_positionals = 0;
  Handler run;
};

std::vector<CommandDef> SubmitCommands();
std::vector<CommandDef> RequestCommands();
std::vector<CommandDef> ModelCommands();
std::vector<CommandDef> AuditCommands();
std::vector<CommandDef> TokenCommands();

// Whole-file reads and atomic writes as StatusOr (the engine helpers throw).
absl::StatusOr<std::string> ReadLocalFile(const std::string& path);
absl::Status WriteLocalFile(const std::string& path, const std::string& data);

}  // namespace lethe::cli
