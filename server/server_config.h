// The one typed configuration of lethe-server, filled from flags and LETHE_* environment
// variables (flag > environment > default) and validated before anything starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/flag_set.h"

namespace lethe {

struct RequestLimits {
  int64_t max_items = 4096;           // item ids + images per request
  int64_t max_images = 256;           // uploaded images per request
  int64_t max_image_bytes = 1 << 20;  // one uploaded PNG
  int64_t max_text_bytes = 1000;      // free-text fields
  int64_t max_subject_bytes = 256;    // subject_reference
  int64_t due_days = 30;              // GDPR Art. 12(3): one month
  int64_t max_extension_days = 60;    // further two months at most
  int64_t max_iteration_budget = 1000000;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:7443";
  std::string metrics_listen = "127.0.0.1:9464";  // "" disables /metrics
  bool insecure = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;

  std::string database_url;  // "" = embedded cluster under <state_dir>/pg
  std::string state_dir = "var";
  std::string pg_cluster_script;  // "" = found next to the binary or in the source tree
  std::string model_store;        // "" = <state_dir>/models
  bool migrate = true;            // apply pending migrations at start
  int64_t db_pool_size = 8;
  int64_t db_statement_timeout_ms = 15000;
  int64_t db_connect_timeout_s = 5;

  std::string subject_salt;  // "" = generated once and kept in <state_dir>/subject-salt
  RequestLimits limits;
  int64_t max_message_bytes = 64 << 20;

  int64_t submit_batch_max = 256;  // submits committed together (group commit)
  int64_t auth_cache_ms = 2000;    // how long a verified token is trusted without a lookup
  int64_t watch_poll_ms = 500;     // WatchForgetRequest polling interval
  int64_t gauge_refresh_s = 15;    // DB-derived gauges
  int64_t audit_verify_s = 3600;   // periodic whole-chain verification
  // Audit transparency log (docs/operator-guide.md "Audit transparency log").
  std::string audit_signing_key;                 // Ed25519 private key (PEM); "" = no checkpoints
  std::string audit_verify_keys;                 // comma-separated files of extra public keys
  std::string audit_log_origin = "lethe-audit";  // checkpoint origin line and key name
  int64_t audit_checkpoint_s = 3600;             // sign a checkpoint at least this often
  int64_t audit_checkpoint_poll_s = 5;           // look for finished requests this often
  int64_t shutdown_grace_s = 10;                 // drain in-flight RPCs for at most this long
  int64_t download_chunk_bytes = 1 << 20;
  std::string log_level = "info";

  // Registers every field as a flag with its LETHE_* variable.
  void RegisterFlags(FlagSet& flags);
  // Cross-field checks: TLS pairs, --insecure only with no TLS, ranges.
  absl::Status Validate() const;
};

}  // namespace lethe
