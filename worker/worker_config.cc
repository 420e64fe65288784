#include "worker/worker_config.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/logging.h"

namespace lethe::worker {

void WorkerConfig::RegisterFlags(FlagSet& f) {
  f.AddString("database-url", "LETHE_DATABASE_URL", &database_url, "PostgreSQL URL (required)");
  f.AddString("model-store", "LETHE_MODEL_STORE", &model_store,
              "model store directory shared with the server (required)");
  f.AddString("worker-id", "LETHE_WORKER_ID", &worker_id,
              "name of this worker in leases and audit records (default host:pid)");
  f.AddString("device", "LETHE_DEVICE", &device, "cpu, cuda or cuda:N");
  f.AddInt("threads", "LETHE_THREADS", &threads, "LibTorch intra-op threads (0 = default)");
  f.AddString("evaluator", "LETHE_EVALUATOR", &evaluator_dir,
              "domain classifier directory (metrics, feature distance; required)");
  f.AddString("data", "LETHE_DATA", &data,
              "training data set: SPEC for every model, or model=SPEC,model2=SPEC2");
  f.AddString("work-dir", "LETHE_WORK_DIR", &work_dir,
              "scratch directory for versions being built (default $TMPDIR)");
  f.AddDouble("lease-seconds", "LETHE_LEASE_SECONDS", &lease_seconds,
              "job lease; another worker takes a job over when it expires");
  f.AddDouble("heartbeat-seconds", "LETHE_HEARTBEAT_SECONDS", &heartbeat_seconds,
              "lease renewal and cancellation check interval (< lease/2)");
  f.AddDouble("poll-seconds", "LETHE_POLL_SECONDS", &poll_seconds,
              "look for work this often even without a notification");
  f.AddInt("max-batch-items", "LETHE_MAX_BATCH_ITEMS", &max_batch_items,
           "items of coalesced requests one job may take");
  f.AddInt("max-attempts", "LETHE_MAX_ATTEMPTS", &max_attempts,
           "claims of one job (after lost leases) before it fails");
  f.AddString("on-destination-miss", "LETHE_ON_DESTINATION_MISS", &on_destination_miss,
              "retrain (exact retraining job) or fail (requests fail with the report)");
  f.AddString("purge-grace", "LETHE_PURGE_GRACE", &purge_grace,
              "superseded versions holding forgotten data are purged after this (24h, 30s)");
  f.AddDouble("purge-interval-seconds", "LETHE_PURGE_INTERVAL_SECONDS", &purge_interval_seconds,
              "how often to look for versions to purge");
  f.AddDouble("progress-interval-seconds", "LETHE_PROGRESS_INTERVAL_SECONDS",
              &progress_interval_seconds, "minimum time between progress writes");
  f.AddInt("retries", "LETHE_RETRIES", &retries, "retries of transient failures");
  f.AddDouble("retry-initial-seconds", "LETHE_RETRY_INITIAL_SECONDS", &retry_initial_seconds,
              "first retry delay (doubles per retry)");
  f.AddDouble("retry-max-seconds", "LETHE_RETRY_MAX_SECONDS", &retry_max_seconds,
              "longest retry delay");
  f.AddInt("metric-samples", "LETHE_METRIC_SAMPLES", &metric_samples,
           "generated images per FD in the before/after report");
  f.AddInt("inversion-steps", "LETHE_INVERSION_STEPS", &inversion_steps,
           "inversion steps per image (0 = engine default)");
  f.AddInt("attack-steps", "LETHE_ATTACK_STEPS", &attack_steps,
           "re-inversion steps of the generator-side membership attack");
  f.AddInt("attack-samples", "LETHE_ATTACK_SAMPLES", &attack_samples,
           "generated samples per class of the nearest-sample membership attack");
  f.AddInt("eval-every", "LETHE_EVAL_EVERY", &eval_every,
           "cascade iterations between destination checks (0 = engine default)");
  f.AddInt("eval-samples", "LETHE_EVAL_SAMPLES", &eval_samples,
           "images per destination check (0 = engine default)");
  f.AddInt("retrain-iterations", "LETHE_RETRAIN_ITERATIONS", &retrain_iterations,
           "iterations of an exact retraining job (0 = the base model's schedule)");
  f.AddString("served-ids-log", "LETHE_SERVED_IDS_LOG", &served_ids_log,
              "append every retained item id a learning phase reads to this file (audits)");
  f.AddBool("migrate", "LETHE_MIGRATE", &migrate,
            "apply pending schema migrations at start (else wait until they are applied)");
  f.AddInt("db-pool-size", "LETHE_DB_POOL_SIZE", &db_pool_size, "database connections");
  f.AddInt("db-statement-timeout-ms", "LETHE_DB_STATEMENT_TIMEOUT_MS", &db_statement_timeout_ms,
           "statement timeout");
  f.AddInt("db-connect-timeout-s", "LETHE_DB_CONNECT_TIMEOUT_S", &db_connect_timeout_s,
           "connect timeout");
  f.AddString("metrics-listen", "LETHE_METRICS_LISTEN", &metrics_listen,
              "host:port of /metrics (\"\" disables)");
  f.AddString("log-level", "LETHE_LOG_LEVEL", &log_level, "debug, info, warn or error");
}

absl::StatusOr<double> ParseDurationSeconds(const std::string& text) {
  double plain = 0;
  if (absl::SimpleAtod(text, &plain)) {
    if (!std::isfinite(plain) || plain < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad duration \"", text, "\""));
    }
    return plain;
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration \"", text, "\" (expected e.g. 24h, 30s, 1h30m)"));
  }
  return absl::ToDoubleSeconds(d);
}

absl::StatusOr<std::map<std::string, std::string>> ParseDataSpecs(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  if (text.find('=') == std::string::npos) {
    out[""] = text;
    return out;
  }
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--data: expected model=SPEC, got \"", part, "\""));
    }
    out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  return out;
}

std::string WorkerConfig::DataSpecFor(const std::string& model) const {
  auto specs = ParseDataSpecs(data);
  if (!specs.ok()) return "";
  auto it = specs->find(model);
  if (it != specs->end()) return it->second;
  it = specs->find("");
  return it != specs->end() ? it->second : "";
}

absl::Status WorkerConfig::Validate() {
  auto bad = [](const std::string& flag, const std::string& problem) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
  };
  if (database_url.empty()) return bad("database-url", "required (or LETHE_DATABASE_URL)");
  if (model_store.empty()) return bad("model-store", "required (or LETHE_MODEL_STORE)");
  if (evaluator_dir.empty()) return bad("evaluator", "required (or LETHE_EVALUATOR)");
  if (worker_id.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    worker_id = absl::StrCat(host[0] ? host : "worker", ":", getpid());
  }
  if (worker_id.size() > 200) return bad("worker-id", "longer than 200 characters");
  if (device != "cpu" && device != "cuda" && device.rfind("cuda:", 0) != 0) {
    return bad("device", absl::StrCat("expected cpu, cuda or cuda:N, got \"", device, "\""));
  }
  if (threads < 0 || threads > 1024) return bad("threads", "must be in [0, 1024]");
  if (!(lease_seconds >= 1 && lease_seconds <= 86400)) {
    return bad("lease-seconds", "must be in [1, 86400]");
  }
  if (!(heartbeat_seconds > 0 && heartbeat_seconds * 2 <= lease_seconds)) {
    return bad("heartbeat-seconds", "must be positive and at most half of --lease-seconds");
  }
  if (!(poll_seconds > 0 && poll_seconds <= 3600)) {
    return bad("poll-seconds", "must be in (0, 3600]");
  }
  if (max_batch_items < 1) return bad("max-batch-items", "must be at least 1");
  if (max_attempts < 1 || max_attempts > 100) return bad("max-attempts", "must be in [1, 100]");
  if (on_destination_miss == "retrain") {
    miss_policy = DestinationMissPolicy::kRetrain;
  } else if (on_destination_miss == "fail") {
    miss_policy = DestinationMissPolicy::kFail;
  } else {
    return bad("on-destination-miss",
               absl::StrCat("expected retrain or fail, got \"", on_destination_miss, "\""));
  }
  auto grace = ParseDurationSeconds(purge_grace);
  if (!grace.ok()) return bad("purge-grace", std::string(grace.status().message()));
  purge_grace_seconds = *grace;
  if (!(purge_interval_seconds > 0)) return bad("purge-interval-seconds", "must be positive");
  if (!(progress_interval_seconds >= 0)) {
    return bad("progress-interval-seconds", "must not be negative");
  }
  if (retries < 0 || retries > 100) return bad("retries", "must be in [0, 100]");
  if (!(retry_initial_seconds > 0 && retry_max_seconds >= retry_initial_seconds)) {
    return bad("retry-initial-seconds", "must be positive and at most --retry-max-seconds");
  }
  if (metric_samples < 2) return bad("metric-samples", "must be at least 2");
  if (inversion_steps < 0) return bad("inversion-steps", "must not be negative");
  if (eval_every < 0) return bad("eval-every", "must not be negative");
  if (attack_steps < 1 || attack_steps > 10000) return bad("attack-steps", "must be in [1, 10000]");
  if (attack_samples < 1 || attack_samples > 1000000) {
    return bad("attack-samples", "must be in [1, 1000000]");
  }
  if (eval_samples < 0) return bad("eval-samples", "must not be negative");
  if (retrain_iterations < 0) return bad("retrain-iterations", "must not be negative");
  if (db_pool_size < 2) return bad("db-pool-size", "must be at least 2 (heartbeat + job)");
  if (db_statement_timeout_ms < 100) return bad("db-statement-timeout-ms", "must be >= 100");
  if (db_connect_timeout_s < 1) return bad("db-connect-timeout-s", "must be >= 1");
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    return bad("log-level",
               absl::StrCat("expected debug, info, warn or error, got \"", log_level, "\""));
  }
  auto specs = ParseDataSpecs(data);
  if (!specs.ok()) return specs.status();
  return absl::OkStatus();
}

}  // namespace lethe::worker
