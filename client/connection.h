// Where lethectl connects and how it authenticates: server address, bearer token and
// TLS material from flags, else from LETHE_* environment variables. Resolving the options
// is pure (the environment is passed in); opening the channel reads the TLS files.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/args.h"

namespace lethe::cli {

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

inline constexpr char kDefaultServer[] = "localhost:7443";  // lethe-server's default --listen
inline constexpr double kDefaultTimeoutSeconds = 30;

struct ConnectionOptions {
  std::string server = kDefaultServer;
  std::string token;  // bearer secret; "" sends no authorization header
  bool insecure = false;
  std::string tls_ca;                     // PEM file of the CA that signed the server's certificate
  std::string tls_cert;                   // client certificate (mTLS)
  std::string tls_key;                    // its private key
  std::string tls_server_name;            // overrides the name checked against the certificate
  std::optional<double> timeout_seconds;  // --timeout; commands pick a default when unset
};

// Flags win over the environment: --server/LETHE_SERVER, --token/LETHE_TOKEN,
// --token-file/LETHE_TOKEN_FILE (read by `read_file`), --tls-ca/LETHE_TLS_CA,
// --tls-cert/LETHE_CLIENT_CERT, --tls-key/LETHE_CLIENT_KEY, --insecure/LETHE_INSECURE=1,
// --timeout. INVALID_ARGUMENT for contradictions (--insecure with TLS files, a
// certificate without its key, both --token and --token-file).
absl::StatusOr<ConnectionOptions> ResolveConnectionOptions(
    const ParsedArgs& args, const EnvLookup& env,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file);

// Plaintext when insecure, else TLS (the system's roots unless --tls-ca).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& options);

// Sets the deadline and the authorization metadata of one call.
void PrepareContext(grpc::ClientContext* context, const std::string& token, double timeout_s);

// True for "localhost", 127.0.0.0/8 and [::1] targets (plaintext is meant for those).
bool IsLoopbackTarget(const std::string& target);

}  // namespace lethe::cli
