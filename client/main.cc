// lethectl: Lethe's command-line client. Everything but the process boundary lives in
// client/cli.cc.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "client/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  lethe::cli::Io io;
  io.out = &std::cout;
  io.err = &std::cerr;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;
  io.now = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  io.sleep = [](double seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  };
  auto env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  auto open = [](const lethe::cli::ConnectionOptions& options)
      -> absl::StatusOr<std::shared_ptr<grpc::ChannelInterface>> {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = lethe::cli::OpenChannel(options);
    if (!channel.ok()) return channel.status();
    return std::shared_ptr<grpc::ChannelInterface>(*channel);
  };
  int code = lethe::cli::RunCli(args, io, env, open);
  std::cout.flush();
  return code;
}
