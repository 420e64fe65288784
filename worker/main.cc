// lethe-worker: turns queued forget requests into forgotten data, a new published model
// version and audit records. One process per GPU (or CPU); any number may run against one
// PostgreSQL and one model store. See --help for the configuration.
//
// Signals: SIGTERM/SIGINT stop claiming, cancel the running engine at its next iteration
// and release the job to the queue for another worker (a job already publishing finishes
// publishing), then exit 0.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/flag_set.h"
#include "common/logging.h"
#include "common/migrations.h"
#include "common/model_store.h"
#include "common/worker_metrics.h"
#include "worker/engine_executor.h"
#include "worker/job_listener.h"
#include "worker/job_runner.h"
#include "worker/job_store.h"
#include "worker/metrics_endpoint.h"
#include "worker/worker.h"
#include "worker/worker_config.h"

namespace lethe::worker {
namespace {

constexpr char kUsage[] =
    "usage: lethe-worker [flags]\n"
    "Claims queued forget requests from PostgreSQL, runs cascaded unlearning on the model's\n"
    "production version, verifies the destination, publishes the new version and records\n"
    "everything in the audit log. Flags may also be given as LETHE_* environment variables.";

int Fail(const std::string& message) {
  std::fprintf(stderr, "lethe-worker: %s\n", message.c_str());
  return 2;
}

// Waits (with backoff) until the database is reachable and its schema is current.
absl::Status WaitForSchema(const WorkerConfig& config, const DbOptions& db, Logger& log,
                           const std::atomic<bool>& stop) {
  double delay = 0.5;
  while (!stop) {
    auto conn = OpenConnection(db);
    if (conn.ok()) {
      absl::StatusOr<int> pending = PendingMigrations(**conn, EmbeddedMigrations());
      if (pending.ok() && *pending > 0 && config.migrate) {
        auto applied = ApplyMigrations(**conn, EmbeddedMigrations(), &log);
        if (applied.ok()) return absl::OkStatus();
        if (applied.status().code() != absl::StatusCode::kUnavailable) return applied.status();
        log.Warn("waiting for the database", {{"error", std::string(applied.status().message())}});
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        continue;
      }
      if (pending.ok() && *pending == 0) return absl::OkStatus();
      if (!pending.ok() && pending.status().code() == absl::StatusCode::kFailedPrecondition) {
        return pending.status();  // a newer schema than this binary knows, or edited files
      }
      log.Warn("waiting for the schema (lethe-server applies migrations, or pass --migrate)",
               {{"pending", pending.ok() ? Json(int64_t(*pending))
                                         : Json(std::string(pending.status().message()))}});
    } else {
      log.Warn("waiting for the database", {{"error", std::string(conn.status().message())}});
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    delay = std::min(delay * 2, 10.0);
  }
  return absl::CancelledError("stopped while waiting for the database");
}

int Main(int argc, char** argv) {
  WorkerConfig config;
  FlagSet flags(kUsage);
  config.RegisterFlags(flags);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::Status parsed = flags.Parse(args, nullptr);
  if (!parsed.ok()) return Fail(std::string(parsed.message()));
  if (flags.help_requested()) {
    std::printf("%s\n", flags.Help().c_str());
    return 0;
  }
  absl::Status valid = config.Validate();
  if (!valid.ok()) return Fail(std::string(valid.message()));

  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.log_level, &level);
  Logger log("worker", level);

  // Signals are taken by one thread (sigwait), so every other thread runs undisturbed.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false};
  Worker* running = nullptr;
  std::mutex running_mu;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    log.Info("signal received; shutting down (send it again to exit at once)",
             {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop = true;
    {
      std::lock_guard<std::mutex> lock(running_mu);
      if (running != nullptr) running->Stop();
    }
    sigwait(&signals, &sig);
    std::_Exit(128 + sig);
  });
  signal_thread.detach();

  DbOptions db;
  db.url = config.database_url;
  db.pool_size = int(config.db_pool_size);
  db.statement_timeout_ms = int(config.db_statement_timeout_ms);
  db.connect_timeout_s = int(config.db_connect_timeout_s);
  db.application_name = "lethe-worker";
  // The database may go away again between the schema check and opening the pool (a
  // restart of PostgreSQL while workers start): wait again rather than exit.
  absl::StatusOr<std::unique_ptr<DbPool>> pool;
  while (true) {
    absl::Status schema = WaitForSchema(config, db, log, stop);
    if (!schema.ok()) {
      if (stop) return 0;
      return Fail(std::string(schema.message()));
    }
    pool = DbPool::Create(db);
    if (pool.ok() || pool.status().code() != absl::StatusCode::kUnavailable) break;
    log.Warn("waiting for the database", {{"error", std::string(pool.status().message())}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (!pool.ok()) return Fail(std::string(pool.status().message()));
  auto store = DirectoryModelStore::Create(config.model_store);
  if (!store.ok()) return Fail(std::string(store.status().message()));

  WorkerMetrics metrics;
  std::unique_ptr<MetricsEndpoint> endpoint;
  if (!config.metrics_listen.empty()) {
    auto started = MetricsEndpoint::Start(config.metrics_listen, metrics.registry());
    if (!started.ok()) {
      return Fail(absl::StrCat("cannot serve /metrics: ", started.status().message()));
    }
    endpoint = std::move(*started);
    log.Info("serving /metrics", {{"port", endpoint->port()}});
  }

  EngineOptions engine;
  engine.device = config.device;
  engine.threads = int(config.threads);
  engine.evaluator_dir = config.evaluator_dir;
  engine.metric_samples = config.metric_samples;
  engine.inversion_steps = config.inversion_steps;
  engine.attack_steps = config.attack_steps;
  engine.attack_samples = config.attack_samples;
  engine.eval_every = config.eval_every;
  engine.eval_samples = config.eval_samples;
  engine.retrain_iterations = config.retrain_iterations;
  engine.served_ids_log = config.served_ids_log;
  engine.worker_id = config.worker_id;
  engine.data_spec = [&config](const ModelInfo& model) { return config.DataSpecFor(model.name); };
  auto executor = EngineExecutor::Create(engine);
  if (!executor.ok()) return Fail(std::string(executor.status().message()));

  JobStore jobs(pool->get(), config.worker_id);
  RunnerOptions runner_options;
  runner_options.lease_seconds = config.lease_seconds;
  runner_options.heartbeat_seconds = config.heartbeat_seconds;
  runner_options.progress_interval_seconds = config.progress_interval_seconds;
  runner_options.miss_policy = config.miss_policy;
  runner_options.backoff.initial_seconds = config.retry_initial_seconds;
  runner_options.backoff.max_seconds = config.retry_max_seconds;
  runner_options.backoff.max_retries = int(config.retries);
  runner_options.work_dir = config.work_dir;
  JobRunner runner(&jobs, store->get(), executor->get(), &log, &metrics, runner_options);
  JobListener listener(db, kJobsChannel, &log);
  Worker worker(config, &jobs, store->get(), &runner, &listener, &log, &metrics);
  OrphanSweeper sweeper(
      pool->get(), store->get(),
      config.work_dir.empty() ? std::filesystem::temp_directory_path().string() : config.work_dir,
      &log);
  worker.set_orphan_sweeper(&sweeper);
  {
    std::lock_guard<std::mutex> lock(running_mu);
    running = &worker;
    if (stop) worker.Stop();
  }
  worker.Run();
  {
    std::lock_guard<std::mutex> lock(running_mu);
    running = nullptr;
  }
  return 0;
}

}  // namespace
}  // namespace lethe::worker

int main(int argc, char** argv) { return lethe::worker::Main(argc, argv); }
