#include "client/commands/command.h"

#include "absl/strings/str_cat.h"
#include "client/rpc_error.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"

namespace lethe::cli {

Rpc::Rpc(std::shared_ptr<grpc::ChannelInterface> channel, std::string token,
         std::optional<double> timeout_seconds)
    : token_(std::move(token)),
      timeout_seconds_(timeout_seconds),
      unlearning_(lethe::v1::Unlearning::NewStub(channel)),
      models_(lethe::v1::Models::NewStub(channel)),
      audit_(lethe::v1::Audit::NewStub(channel)),
      tokens_(lethe::v1::Tokens::NewStub(channel)) {}

std::unique_ptr<grpc::ClientContext> Rpc::Context(double default_seconds) const {
  auto context = std::make_unique<grpc::ClientContext>();
  PrepareContext(context.get(), token_, timeout_seconds_.value_or(default_seconds));
  return context;
}

std::unique_ptr<grpc::ClientContext> Rpc::ContextWithDeadline(double seconds) const {
  auto context = std::make_unique<grpc::ClientContext>();
  PrepareContext(context.get(), token_, seconds);
  return context;
}

int CommandContext::Usage(const std::string& message) { return Fail(kExitUsage, message); }

int CommandContext::Fail(int code, const std::string& message) {
  err() << "lethectl: " << message << "\n";
  return code;
}

int CommandContext::RpcFailure(const grpc::Status& status) {
  err() << "lethectl: " << FormatRpcError(status) << "\n";
  return ExitCodeForStatus(status.error_code());
}

void CommandContext::Note(const std::string& message) { err() << "lethectl: " << message << "\n"; }

absl::StatusOr<std::string> ReadLocalFile(const std::string& path) {
  try {
    return lethe::ReadFile(path);
  } catch (const lethe::Error& e) {
    return absl::NotFoundError(e.what());
  }
}

absl::Status WriteLocalFile(const std::string& path, const std::string& data) {
  try {
    lethe::WriteFileAtomic(path, data);
    return absl::OkStatus();
  } catch (const lethe::Error& e) {
    return absl::InternalError(e.what());
  }
}

}  // namespace lethe::cli
