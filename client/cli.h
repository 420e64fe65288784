// lethectl as a function: argument vector in, exit status out, with the outside world
// (streams, environment, how a channel is opened) passed in. main() is a thin wrapper;
// tests run whole command lines against an in-process fake server through this.
#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/commands/command.h"
#include "client/connection.h"

namespace lethe::cli {

using ChannelFactory = std::function<absl::StatusOr<std::shared_ptr<grpc::ChannelInterface>>(
    const ConnectionOptions&)>;

// The flags every command accepts (--server, --token, --json, ...).
std::vector<FlagSpec> GlobalFlags();
// Every command, in help order.
std::vector<CommandDef> AllCommands();

// `args` excludes the program name.
int RunCli(const std::vector<std::string>& args, Io& io, const EnvLookup& env,
           const ChannelFactory& open_channel);

}  // namespace lethe::cli
