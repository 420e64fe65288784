#include "client/connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lethe::cli {
namespace {

std::string FlagOrEnv(const ParsedArgs& args, const std::string& flag, const EnvLookup& env,
                      const std::string& var) {
  if (auto v = args.GetOptional(flag)) return *v;
  if (env) {
    if (auto v = env(var)) return *v;
  }
  return "";
}

bool Truthy(const std::string& s) {
  std::string v = absl::AsciiStrToLower(s);
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

}  // namespace

absl::StatusOr<ConnectionOptions> ResolveConnectionOptions(
    const ParsedArgs& args, const EnvLookup& env,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file) {
  ConnectionOptions o;
  std::string server = FlagOrEnv(args, "server", env, "LETHE_SERVER");
  if (!server.empty()) o.server = server;
  o.token = FlagOrEnv(args, "token", env, "LETHE_TOKEN");
  std::string token_file = FlagOrEnv(args, "token-file", env, "LETHE_TOKEN_FILE");
  if (args.Has("token") && args.Has("token-file")) {
    return absl::InvalidArgumentError("--token and --token-file are mutually exclusive");
  }
  if (!token_file.empty() && !args.Has("token")) {
    absl::StatusOr<std::string> text = read_file(token_file);
    if (!text.ok()) return text.status();
    o.token = std::string(absl::StripAsciiWhitespace(*text));
    if (o.token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("token file ", token_file, " is empty"));
    }
  }
  o.token = std::string(absl::StripAsciiWhitespace(o.token));
  o.tls_ca = FlagOrEnv(args, "tls-ca", env, "LETHE_TLS_CA");
  o.tls_cert = FlagOrEnv(args, "tls-cert", env, "LETHE_CLIENT_CERT");
  o.tls_key = FlagOrEnv(args, "tls-key", env, "LETHE_CLIENT_KEY");
  o.tls_server_name = args.Get("tls-server-name");
  o.insecure = args.Has("insecure") || (env && Truthy(env("LETHE_INSECURE").value_or("")));
  if (o.insecure && args.Has("insecure") &&
      (args.Has("tls-ca") || args.Has("tls-cert") || args.Has("tls-key"))) {
    return absl::InvalidArgumentError("--insecure contradicts --tls-ca/--tls-cert/--tls-key");
  }
  if (o.insecure && !args.Has("insecure")) {
    // LETHE_INSECURE from the environment yields to TLS flags on the command line.
    if (args.Has("tls-ca") || args.Has("tls-cert") || args.Has("tls-key")) o.insecure = false;
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together (mutual TLS)");
  }
  if (auto t = args.GetOptional("timeout")) {
    absl::StatusOr<double> seconds = ParseDurationSeconds("--timeout", *t);
    if (!seconds.ok()) return seconds.status();
    o.timeout_seconds = *seconds;
  }
  return o;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& o) {
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  if (!o.tls_server_name.empty()) {
    channel_args.SetSslTargetNameOverride(o.tls_server_name);
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (o.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    auto read = [](const std::string& what, const std::string& path,
                   std::string* out) -> absl::Status {
      if (path.empty()) return absl::OkStatus();
      FILE* f = std::fopen(path.c_str(), "rb");
      if (f == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("cannot open ", what, " ", path));
      }
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
      std::fclose(f);
      if (out->empty())
        return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is empty"));
      return absl::OkStatus();
    };
    if (auto s = read("--tls-ca", o.tls_ca, &ssl.pem_root_certs); !s.ok()) return s;
    if (auto s = read("--tls-cert", o.tls_cert, &ssl.pem_cert_chain); !s.ok()) return s;
    if (auto s = read("--tls-key", o.tls_key, &ssl.pem_private_key); !s.ok()) return s;
    creds = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(o.server, creds, channel_args);
}

void PrepareContext(grpc::ClientContext* context, const std::string& token, double timeout_s) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6)));
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

bool IsLoopbackTarget(const std::string& target) {
  std::string host = target;
  for (const char* scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(host, scheme)) host = host.substr(std::string(scheme).size());
  }
  if (absl::StartsWith(host, "unix:")) return true;
  if (absl::StartsWith(host, "[")) {
    size_t end = host.find(']');
    return end != std::string::npos && host.substr(1, end - 1) == "::1";
  }
  host = host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
  return host == "localhost" || absl::StartsWith(host, "127.");
}

}  // namespace lethe::cli
