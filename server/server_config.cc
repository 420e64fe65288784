#include "server/server_config.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/signed_note.h"

namespace lethe {

void ServerConfig::RegisterFlags(FlagSet& f) {
  f.AddString("listen", "LETHE_LISTEN", &listen, "gRPC listen address HOST:PORT");
  f.AddString("metrics-listen", "LETHE_METRICS_LISTEN", &metrics_listen,
              "Prometheus /metrics HTTP address HOST:PORT (empty disables it)");
  f.AddBool("insecure", "LETHE_INSECURE", &insecure,
            "serve plaintext gRPC (loopback demos only); otherwise TLS is required");
  f.AddString("tls-cert", "LETHE_TLS_CERT", &tls_cert, "server certificate chain (PEM)");
  f.AddString("tls-key", "LETHE_TLS_KEY", &tls_key, "server private key (PEM)");
  f.AddString("tls-client-ca", "LETHE_TLS_CLIENT_CA", &tls_client_ca,
              "CA bundle (PEM); when set, clients must present a certificate it signed");
  f.AddString("database-url", "LETHE_DATABASE_URL", &database_url,
              "PostgreSQL URL; empty starts a private cluster under STATE_DIR/pg");
  f.AddString("state-dir", "LETHE_STATE_DIR", &state_dir,
              "directory for the private cluster, the model store and the subject salt");
  f.AddString("pg-cluster-script", "LETHE_PG_CLUSTER_SCRIPT", &pg_cluster_script,
              "path of scripts/pg-cluster (default: found relative to the binary)");
  f.AddString("model-store", "LETHE_MODEL_STORE", &model_store,
              "model store directory (default: STATE_DIR/models)");
  f.AddBool("migrate", "LETHE_MIGRATE", &migrate,
            "apply pending schema migrations at start (--no-migrate: refuse to start instead)");
  f.AddInt("db-pool-size", "LETHE_DB_POOL_SIZE", &db_pool_size, "database connections");
  f.AddInt("db-statement-timeout-ms", "LETHE_DB_STATEMENT_TIMEOUT_MS", &db_statement_timeout_ms,
           "statement_timeout for every database statement");
  f.AddInt("db-connect-timeout-s", "LETHE_DB_CONNECT_TIMEOUT_S", &db_connect_timeout_s,
           "connect_timeout for database connections");
  f.AddString("subject-salt", "LETHE_SUBJECT_SALT", &subject_salt,
              "salt for hashing data-subject references (at least 16 characters; share it "
              "between servers); empty = generated once into STATE_DIR/subject-salt");
  f.AddInt("due-days", "LETHE_DUE_DAYS", &limits.due_days,
           "days from receipt to the GDPR due date");
  f.AddInt("max-extension-days", "LETHE_MAX_EXTENSION_DAYS", &limits.max_extension_days,
           "largest total deadline extension in days");
  f.AddInt("max-items", "LETHE_MAX_ITEMS", &limits.max_items,
           "item ids plus images in one request");
  f.AddInt("max-images", "LETHE_MAX_IMAGES", &limits.max_images, "uploaded images in one request");
  f.AddInt("max-image-bytes", "LETHE_MAX_IMAGE_BYTES", &limits.max_image_bytes,
           "size limit of one uploaded PNG");
  f.AddInt("max-message-bytes", "LETHE_MAX_MESSAGE_BYTES", &max_message_bytes,
           "largest gRPC message accepted");
  f.AddInt("submit-batch-max", "LETHE_SUBMIT_BATCH_MAX", &submit_batch_max,
           "most submits committed in one transaction (group commit)");
  f.AddInt("auth-cache-ms", "LETHE_AUTH_CACHE_MS", &auth_cache_ms,
           "how long a verified token is trusted before it is looked up again (revocations "
           "through this server apply at once)");
  f.AddInt("watch-poll-ms", "LETHE_WATCH_POLL_MS", &watch_poll_ms,
           "how often WatchForgetRequest re-reads the request");
  f.AddInt("gauge-refresh-s", "LETHE_GAUGE_REFRESH_S", &gauge_refresh_s,
           "refresh interval of the database-derived gauges");
  f.AddInt("audit-verify-s", "LETHE_AUDIT_VERIFY_S", &audit_verify_s,
           "how often the whole audit chain is re-verified for lethe_audit_chain_valid");
  f.AddString("audit-signing-key", "LETHE_AUDIT_SIGNING_KEY", &audit_signing_key,
              "Ed25519 private key (PEM, `openssl genpkey -algorithm ed25519`) that signs audit "
              "checkpoints; empty: no checkpoints (GetAuditCheckpoint fails)");
  f.AddString("audit-verify-keys", "LETHE_AUDIT_VERIFY_KEYS", &audit_verify_keys,
              "comma-separated files of further public keys whose checkpoints verify (earlier "
              "signing keys after a rotation): PEM public keys or verifier-key lines");
  f.AddString("audit-log-origin", "LETHE_AUDIT_LOG_ORIGIN", &audit_log_origin,
              "name of the audit log in its checkpoints and of its signing key (e.g. "
              "lethe.example.org/audit; no spaces, no '+')");
  f.AddInt("audit-checkpoint-s", "LETHE_AUDIT_CHECKPOINT_S", &audit_checkpoint_s,
           "sign an audit checkpoint at least this often, even when the log did not grow");
  f.AddInt("audit-checkpoint-poll-s", "LETHE_AUDIT_CHECKPOINT_POLL_S", &audit_checkpoint_poll_s,
           "how often to look for requests that finished since the last checkpoint (each one "
           "gets a checkpoint that covers it)");
  f.AddInt("shutdown-grace-s", "LETHE_SHUTDOWN_GRACE_S", &shutdown_grace_s,
           "on SIGTERM/SIGINT, how long in-flight calls may finish");
  f.AddString("log-level", "LETHE_LOG_LEVEL", &log_level, "debug, info, warn or error");
}

absl::Status ServerConfig::Validate() const {
  auto bad = [](const std::string& msg) { return absl::InvalidArgumentError(msg); };
  if (listen.empty()) return bad("--listen is empty");
  bool tls = !tls_cert.empty() || !tls_key.empty();
  if (tls && (tls_cert.empty() || tls_key.empty())) {
    return bad("--tls-cert and --tls-key must be given together");
  }
  if (!tls_client_ca.empty() && !tls) return bad("--tls-client-ca needs --tls-cert/--tls-key");
  if (insecure && tls) return bad("--insecure and --tls-cert/--tls-key exclude each other");
  if (!insecure && !tls) {
    return bad(
        "no TLS configured: give --tls-cert and --tls-key, or --insecure for a "
        "plaintext loopback demo");
  }
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    return bad(absl::StrCat("--log-level \"", log_level, "\" is not debug, info, warn or error"));
  }
  struct Range {
    const char* flag;
    int64_t value, min, max;
  };
  const Range ranges[] = {
      {"--db-pool-size", db_pool_size, 1, 200},
      {"--db-statement-timeout-ms", db_statement_timeout_ms, 100, 3600000},
      {"--db-connect-timeout-s", db_connect_timeout_s, 1, 600},
      {"--due-days", limits.due_days, 1, 365},
      {"--max-extension-days", limits.max_extension_days, 0, 365},
      {"--max-items", limits.max_items, 1, 1000000},
      {"--max-images", limits.max_images, 0, 100000},
      {"--max-image-bytes", limits.max_image_bytes, 64, 256 << 20},
      {"--max-message-bytes", max_message_bytes, 1 << 16, 1 << 30},
      {"--submit-batch-max", submit_batch_max, 1, 10000},
      {"--auth-cache-ms", auth_cache_ms, 0, 3600000},
      {"--watch-poll-ms", watch_poll_ms, 10, 60000},
      {"--gauge-refresh-s", gauge_refresh_s, 1, 3600},
      {"--audit-verify-s", audit_verify_s, 1, 7 * 86400},
      {"--audit-checkpoint-s", audit_checkpoint_s, 1, 7 * 86400},
      {"--audit-checkpoint-poll-s", audit_checkpoint_poll_s, 1, 3600},
      {"--shutdown-grace-s", shutdown_grace_s, 0, 3600},
  };
  for (const Range& r : ranges) {
    if (r.value < r.min || r.value > r.max) {
      return bad(absl::StrCat(r.flag, " ", r.value, " is outside [", r.min, ", ", r.max, "]"));
    }
  }
  if (!IsValidKeyName(audit_log_origin)) {
    return bad(absl::StrCat("--audit-log-origin \"", audit_log_origin,
                            "\" must be 1-200 printable ASCII characters without spaces or '+'"));
  }
  if (!subject_salt.empty() && subject_salt.size() < 16) {
    return bad("--subject-salt must be at least 16 characters");
  }
  return absl::OkStatus();
}

}  // namespace lethe
