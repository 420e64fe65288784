// The one typed configuration of lethe-worker, filled from flags and LETHE_* environment
// variables (flag > environment > default) and validated before anything starts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/flag_set.h"

namespace lethe::worker {

enum class DestinationMissPolicy {
  kRetrain,  // queue an exact retraining job (slow, but exact)
  kFail,     // fail the requests with the full report
};

struct WorkerConfig {
  std::string database_url;
  std::string model_store;
  std::string worker_id;  // "" = <hostname>:<pid>
  std::string device = "cpu";
  int64_t threads = 0;  // intra-op threads; 0 = LibTorch's default
  std::string evaluator_dir;
  // The training data set: a loader spec for every model ("fashion-mnist", a directory),
  // or "model=SPEC,model2=SPEC2". A model not named falls back to its registered
  // config.data_spec, then to its dataset name.
  std::string data;
  std::string work_dir;  // scratch space for versions being built; "" = $TMPDIR

  double lease_seconds = 60;
  double heartbeat_seconds = 10;
  double poll_seconds = 5;  // fallback when no NOTIFY arrives
  int64_t max_batch_items = 1024;
  int64_t max_attempts = 3;  // claims of one job before it is failed
  std::string on_destination_miss = "retrain";
  std::string purge_grace = "24h";
  double purge_interval_seconds = 60;
  double progress_interval_seconds = 0.5;  // at most 2 progress writes per second
  int64_t retries = 5;                     // retries of transient failures
  double retry_initial_seconds = 0.5;
  double retry_max_seconds = 30;

  // Engine tuning (0 = the engine's defaults).
  int64_t metric_samples = 2000;  // generated images per FD in the before/after report
  int64_t inversion_steps = 0;
  int64_t attack_steps = 100;      // re-inversion steps of the generator-side attack
  int64_t attack_samples = 10000;  // samples per class of the nearest-sample attack
  int64_t eval_every = 0;
  int64_t eval_samples = 0;
  int64_t retrain_iterations = 0;  // 0 = the base model's own schedule
  std::string served_ids_log;      // append every retained item id served ("" = off)

  bool migrate = false;  // apply pending migrations at start (else wait for the server)
  int64_t db_pool_size = 4;
  int64_t db_statement_timeout_ms = 30000;
  int64_t db_connect_timeout_s = 5;
  std::string metrics_listen = "127.0.0.1:9465";  // "" disables /metrics
  std::string log_level = "info";

  // Derived by Validate().
  double purge_grace_seconds = 0;
  DestinationMissPolicy miss_policy = DestinationMissPolicy::kRetrain;

  void RegisterFlags(FlagSet& flags);
  // Cross-field checks and derived values; INVALID_ARGUMENT naming the flag.
  absl::Status Validate();

  // The data set spec for `model` from --data ("" when --data does not name one).
  std::string DataSpecFor(const std::string& model) const;
};

// "24h", "30s", "1h30m", "500ms" or a plain number of seconds.
absl::StatusOr<double> ParseDurationSeconds(const std::string& text);

// "model=SPEC,model2=SPEC2" -> map; a value without "=" maps "" (every model) to it.
absl::StatusOr<std::map<std::string, std::string>> ParseDataSpecs(const std::string& text);

}  // namespace lethe::worker
