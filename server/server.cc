#include "server/server.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audit.h"
#include "common/auth.h"
#include "common/migrations.h"
#include "common/status_macros.h"
#include "engine/base/file_util.h"
#include "server/embedded_postgres.h"
#include "server/rejected_call_interceptor.h"

namespace lethe {

absl::StatusOr<std::string> ResolveDatabaseUrl(const ServerConfig& config, Logger* log) {
  if (!config.database_url.empty()) return config.database_url;
  ASSIGN_OR_RETURN(std::string script, FindPgClusterScript(config.pg_cluster_script));
  std::string dir = JoinPath(config.state_dir, "pg");
  log->Info("starting private PostgreSQL cluster", {{"dir", dir}, {"script", script}});
  return StartEmbeddedPostgres(script, dir);
}

absl::StatusOr<std::string> ResolveSubjectSalt(const ServerConfig& config, Logger* log) {
  if (!config.subject_salt.empty()) return config.subject_salt;
  std::string path = JoinPath(config.state_dir, "subject-salt");
  try {
    MakeDirs(config.state_dir);
    if (PathExists(path)) {
      std::string salt = ReadFile(path);
      while (!salt.empty() && (salt.back() == '\n' || salt.back() == ' ')) salt.pop_back();
      if (salt.size() < 16) {
        return absl::FailedPreconditionError(absl::StrCat(path,
                                                          " holds a salt shorter than 16 "
                                                          "characters"));
      }
      return salt;
    }
    std::string salt = Base64UrlEncode(RandomBytes(32));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path));
    bool ok = ::write(fd, salt.data(), salt.size()) == ssize_t(salt.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
    log->Warn(
        "generated a subject salt; servers sharing a database must share it "
        "(--subject-salt / LETHE_SUBJECT_SALT)",
        {{"path", path}});
    return salt;
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

DbOptions DbOptionsFor(const ServerConfig& config, const std::string& url) {
  DbOptions o;
  o.url = url;
  o.pool_size = int(config.db_pool_size);
  o.connect_timeout_s = int(config.db_connect_timeout_s);
  o.statement_timeout_ms = int(config.db_statement_timeout_ms);
  o.application_name = "lethe-server";
  return o;
}

absl::StatusOr<std::unique_ptr<LetheServer>> LetheServer::Start(const ServerConfig& config,
                                                                Logger* log) {
  std::unique_ptr<LetheServer> s(new LetheServer(config, log));
  ASSIGN_OR_RETURN(std::string url, ResolveDatabaseUrl(config, log));
  ASSIGN_OR_RETURN(std::string salt, ResolveSubjectSalt(config, log));
  DbOptions db_options = DbOptionsFor(config, url);
  {
    ASSIGN_OR_RETURN(auto conn, OpenConnection(db_options));
    if (config.migrate) {
      ASSIGN_OR_RETURN(MigrationReport report, ApplyMigrations(*conn, EmbeddedMigrations(), log));
      log->Info("schema ready", {{"applied", report.applied},
                                 {"already_applied", report.already_applied},
                                 {"version", report.latest_version}});
    } else {
      ASSIGN_OR_RETURN(int pending, PendingMigrations(*conn, EmbeddedMigrations()));
      if (pending > 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(pending,
                         " schema migration(s) pending and --no-migrate was given; run "
                         "`lethe-server migrate` first"));
      }
    }
  }
  ASSIGN_OR_RETURN(s->db_, DbPool::Create(db_options, [](pqxx::connection& conn) {
                     PrepareRequestStatements(conn);
                     PrepareSubmitWriterStatements(conn);
                   }));
  std::string store_dir =
      config.model_store.empty() ? JoinPath(config.state_dir, "models") : config.model_store;
  ASSIGN_OR_RETURN(s->store_, DirectoryModelStore::Create(store_dir));
  s->metrics_ = std::make_unique<ServerMetrics>();
  if (!config.metrics_listen.empty()) {
    try {
      s->exposer_ = std::make_unique<prometheus::Exposer>(config.metrics_listen);
      s->exposer_->RegisterCollectable(s->metrics_->registry());
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve /metrics on ", config.metrics_listen, ": ", e.what()));
    }
  }
  s->auth_ = std::make_unique<Authenticator>(s->db_.get(),
                                             std::chrono::milliseconds(config.auth_cache_ms));
  s->catalog_ = std::make_unique<ModelCatalog>(s->db_.get());
  s->writer_ = std::make_unique<SubmitWriter>(s->db_.get(), log, s->metrics_.get(),
                                              int(config.submit_batch_max));
  s->requests_ = std::make_unique<RequestService>(s->db_.get(), s->catalog_.get(), s->writer_.get(),
                                                  log, config.limits, salt);
  s->models_ = std::make_unique<ModelService>(s->db_.get(), s->store_.get(), log);
  {
    AuditCheckpointer::Options o;
    o.origin = config.audit_log_origin;
    o.signing_key_path = config.audit_signing_key;
    for (absl::string_view path :
         absl::StrSplit(config.audit_verify_keys, ',', absl::SkipEmpty())) {
      o.verify_key_paths.emplace_back(path);
    }
    o.interval_s = config.audit_checkpoint_s;
    o.poll_s = config.audit_checkpoint_poll_s;
    ASSIGN_OR_RETURN(s->checkpointer_,
                     AuditCheckpointer::Create(s->db_.get(), std::move(o), s->metrics_.get(), log));
  }
  s->audit_ = std::make_unique<AuditService>(s->db_.get(), s->checkpointer_.get());
  s->tokens_ = std::make_unique<TokenService>(s->db_.get(), s->auth_.get(), log);
  s->runner_ = std::make_unique<RpcRunner>(s->auth_.get(), s->metrics_.get(), log);
  s->unlearning_grpc_ = std::make_unique<UnlearningGrpc>(
      s->runner_.get(), s->requests_.get(), std::chrono::milliseconds(config.watch_poll_ms),
      &s->stopping_);
  s->models_grpc_ =
      std::make_unique<ModelsGrpc>(s->runner_.get(), s->models_.get(), config.download_chunk_bytes);
  s->audit_grpc_ = std::make_unique<AuditGrpc>(s->runner_.get(), s->audit_.get());
  s->tokens_grpc_ = std::make_unique<TokensGrpc>(s->runner_.get(), s->tokens_.get());

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (config.insecure) {
    creds = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions ssl;
    try {
      ssl.pem_key_cert_pairs.push_back({ReadFile(config.tls_key), ReadFile(config.tls_cert)});
      if (!config.tls_client_ca.empty()) {
        ssl.pem_root_certs = ReadFile(config.tls_client_ca);
        ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      }
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(absl::StrCat("TLS: ", e.what()));
    }
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, creds, &s->port_);
  builder.SetMaxReceiveMessageSize(int(config.max_message_bytes));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RejectedCallInterceptorFactory>(s->metrics_.get(), log));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(s->unlearning_grpc_.get());
  builder.RegisterService(s->models_grpc_.get());
  builder.RegisterService(s->audit_grpc_.get());
  builder.RegisterService(s->tokens_grpc_.get());
  s->grpc_ = builder.BuildAndStart();
  if (!s->grpc_ || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen, " (address in use or invalid)"));
  }
  // Health per service as well as overall (""), so a client can check the service it uses.
  grpc::HealthCheckServiceInterface* health = s->grpc_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const char* service :
       {lethe::v1::Unlearning::service_full_name(), lethe::v1::Models::service_full_name(),
        lethe::v1::Audit::service_full_name(), lethe::v1::Tokens::service_full_name()}) {
    health->SetServingStatus(service, true);
  }
  s->gauges_ = std::thread([srv = s.get()] { srv->RefreshGauges(); });
  s->checkpointer_->Start();
  log->Info("lethe-server started", {{"listen", config.listen},
                                     {"port", int64_t(s->port_)},
                                     {"metrics_listen", config.metrics_listen},
                                     {"tls", !config.insecure},
                                     {"model_store", store_dir}});
  return s;
}

void LetheServer::RefreshGauges() {
  while (!stopping_.load()) {
    auto lease = db_->Acquire();
    if (lease.ok()) {
      try {
        pqxx::nontransaction tx(lease->conn());
        std::map<std::string, int64_t> counts;
        for (const auto& row :
             tx.exec("SELECT state, count(*) FROM forget_requests GROUP BY state")) {
          counts[row[0].as<std::string>()] = row[1].as<int64_t>();
        }
        metrics_->SetRequestsByState(counts);
        metrics_->SetOverdue(tx.exec1("SELECT count(*) FROM forget_requests WHERE state IN "
                                      "('received', 'queued', 'running') AND due_at < now()")[0]
                                 .as<int64_t>());
        metrics_->SetDueSoon(tx.exec1("SELECT count(*) FROM forget_requests WHERE state IN "
                                      "('received', 'queued', 'running') AND due_at >= now() AND "
                                      "due_at < now() + interval '7 days'")[0]
                                 .as<int64_t>());
        metrics_->SetQueueOldestAge(
            tx.exec1("SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0) "
                     "FROM forget_requests WHERE state IN ('received', 'queued')")[0]
                .as<double>());
        metrics_->SetAuditRecords(tx.exec1("SELECT last_seq FROM audit_head")[0].as<int64_t>());
      } catch (const std::exception& e) {
        log_->Warn("gauge refresh failed", {{"error", std::string(e.what())}});
      }
      auto now = std::chrono::steady_clock::now();
      if (!audit_verified_once_ ||
          now - last_audit_verify_ >= std::chrono::seconds(config_.audit_verify_s)) {
        try {
          auto verification = VerifyAuditChain(lease->conn());
          if (verification.ok()) {
            metrics_->SetAuditVerification(
                verification->ok,
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                    .count());
            if (!verification->ok) {
              log_->Error("audit chain verification failed",
                          {{"first_bad_seq", verification->first_bad_seq},
                           {"reason", verification->reason}});
            }
            audit_verified_once_ = true;
            last_audit_verify_ = now;
          }
        } catch (const std::exception& e) {
          log_->Warn("audit verification failed to run", {{"error", std::string(e.what())}});
        }
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(config_.gauge_refresh_s),
                 [this] { return stopping_.load(); });
  }
}

void LetheServer::Shutdown() {
  if (stopping_.exchange(true)) {
    Wait();
    return;
  }
  log_->Info("shutting down", {{"grace_s", config_.shutdown_grace_s}});
  cv_.notify_all();
  if (grpc_) {
    grpc_->GetHealthCheckService()->SetServingStatus(false);
    grpc_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::seconds(config_.shutdown_grace_s));
  }
  if (writer_) writer_->Stop();
  if (checkpointer_) checkpointer_->Stop();
  if (gauges_.joinable()) gauges_.join();
  exposer_.reset();
  log_->Info("lethe-server stopped");
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
  }
  cv_.notify_all();
}

void LetheServer::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return shut_down_; });
}

LetheServer::~LetheServer() {
  Shutdown();
  if (grpc_) grpc_->Wait();
}

}  // namespace lethe
