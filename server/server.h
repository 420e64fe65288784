// lethe-server assembled: database pool, migrations, services, gRPC server (health and
// reflection on), the /metrics exposer and the gauge refresher. Shutdown() stops
// accepting calls, lets in-flight ones finish within the grace period, then stops.
#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/model_store.h"
#include "server/audit_checkpointer.h"
#include "server/audit_service.h"
#include "server/authenticator.h"
#include "server/grpc_services.h"
#include "server/model_catalog.h"
#include "server/model_service.h"
#include "server/request_service.h"
#include "server/server_config.h"
#include "server/submit_writer.h"
#include "server/token_service.h"

namespace lethe {

// Resolves the database URL: the configured one, or the embedded cluster's.
absl::StatusOr<std::string> ResolveDatabaseUrl(const ServerConfig& config, Logger* log);
// The subject salt: configured, or read from / created in STATE_DIR/subject-salt.
absl::StatusOr<std::string> ResolveSubjectSalt(const ServerConfig& config, Logger* log);
DbOptions DbOptionsFor(const ServerConfig& config, const std::string& url);

class LetheServer {
 public:
  // Connects, migrates (or checks), and starts serving. `config` must be validated.
  static absl::StatusOr<std::unique_ptr<LetheServer>> Start(const ServerConfig& config,
                                                            Logger* log);
  ~LetheServer();

  // Blocks until Shutdown() has completed.
  void Wait();
  // Idempotent; safe from any thread except a gRPC handler.
  void Shutdown();

  int port() const { return port_; }

 private:
  LetheServer(const ServerConfig& config, Logger* log) : config_(config), log_(log) {}
  void RefreshGauges();

  ServerConfig config_;
  Logger* log_;
  std::unique_ptr<DbPool> db_;
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<ModelCatalog> catalog_;
  std::unique_ptr<SubmitWriter> writer_;
  std::unique_ptr<RequestService> requests_;
  std::unique_ptr<ModelService> models_;
  std::unique_ptr<AuditCheckpointer> checkpointer_;
  std::unique_ptr<AuditService> audit_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<RpcRunner> runner_;
  std::unique_ptr<UnlearningGrpc> unlearning_grpc_;
  std::unique_ptr<ModelsGrpc> models_grpc_;
  std::unique_ptr<AuditGrpc> audit_grpc_;
  std::unique_ptr<TokensGrpc> tokens_grpc_;
  std::unique_ptr<grpc::Server> grpc_;
  int port_ = 0;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool shut_down_ = false;
  std::thread gauges_;
  // Owned by the gauge thread: when the audit chain was last verified.
  bool audit_verified_once_ = false;
  std::chrono::steady_clock::time_point last_audit_verify_;
};

}  // namespace lethe
