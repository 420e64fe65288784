// Enqueue -> worker start latency: the time from the commit of a queued forget request to
// the commit of the worker's claim of its job, with the worker idle and woken by
// NOTIFY lethe_jobs (as lethe-server sends on submit), and with polling only.
//
// Runs the worker's real loop (Worker, JobStore, JobListener, JobRunner) in-process with
// an executor that returns at once, so only the service path is measured.
//   worker_claim_latency_bench [--requests N] [--poll-seconds S]
// Needs LETHE_TEST_DATABASE_URL (a PostgreSQL cluster; scripts/pg-cluster start DIR).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/model_store.h"
#include "tests/integration/worker_test_support.h"
#include "worker/job_listener.h"
#include "worker/job_runner.h"
#include "worker/job_store.h"
#include "worker/worker.h"

namespace lethe::worker {
namespace {

// Finishes every job at once (destination "missed", policy fail): no engine work.
class InstantExecutor : public JobExecutor {
 public:
  absl::StatusOr<ExecutionResult> Execute(const JobInputs&, const std::string&, const std::string&,
                                          const ProgressFn&, CancelToken*) override {
    return ExecutionResult{};
  }
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = size_t(std::min<double>(double(v.size() - 1), p * double(v.size() - 1) + 0.5));
  return v[i];
}

int Run(int argc, char** argv) {
  int requests = 200;
  double poll = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--requests") requests = std::atoi(argv[i + 1]);
    if (a == "--poll-seconds") poll = std::atof(argv[i + 1]);
  }
  std::string db = "lethe_bench_claim_" + std::to_string(getpid());
  std::string url = testing::CreateTestDatabase(db);
  if (url.empty()) return 1;
  testing::Fixture fx(url);
  fx.AddModel("bench", testing::Hex64('a'), "bench/" + testing::Hex64('a'));

  for (bool notify : {true, false}) {
    auto pool = testing::MakePool(url, 4);
    WorkerConfig config;
    config.database_url = url;
    config.model_store = "/tmp";
    config.evaluator_dir = "/tmp";
    config.worker_id = "bench";
    config.poll_seconds = poll;
    config.purge_interval_seconds = 3600;
    config.on_destination_miss = "fail";
    if (!config.Validate().ok()) return 1;
    Logger log("bench", LogLevel::kError);
    JobStore store(pool.get(), "bench");
    auto models = DirectoryModelStore::Create("/tmp/lethe-bench-store");
    InstantExecutor executor;
    RunnerOptions ro;
    ro.miss_policy = DestinationMissPolicy::kFail;
    ro.heartbeat_seconds = 5;
    JobRunner runner(&store, models->get(), &executor, &log, nullptr, ro);
    DbOptions dbo;
    dbo.url = url;
    JobListener listener(dbo, notify ? kJobsChannel : "lethe_bench_silent", &log);
    Worker worker(config, &store, models->get(), &runner, &listener, &log, nullptr);
    std::thread loop([&] { worker.Run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    std::vector<double> latencies;
    pqxx::connection& conn = fx.conn();
    const int count = notify ? requests : std::max(1, requests / 10);
    for (int i = 0; i < count; ++i) {
      std::string id;
      {
        pqxx::work tx(conn);
        id = tx.exec_params1(
                   "INSERT INTO forget_requests (idempotency_key, body_sha256, "
                   "requester_token_id, requester_name, model, kind, mode, substitute, state, "
                   "legal_ground, due_at) VALUES (gen_random_uuid(), repeat('b', 64), $1, "
                   "'bench', 'bench', 'items', 'few_shot', 'average', 'queued', 'art17_1b', "
                   "now() + interval '30 days') RETURNING id",
                   fx.token_id())[0]
                 .as<std::string>();
        if (notify) tx.exec("SELECT pg_notify('lethe_jobs', 'bench')");
        tx.exec_params("UPDATE forget_requests SET received_at = clock_timestamp() WHERE id = $1",
                       id);
        tx.commit();
      }
      // Wait until the job has finished (so the worker is idle again for the next one).
      std::string state;
      for (int k = 0; k < 20000; ++k) {
        pqxx::work tx(conn);
        pqxx::result r = tx.exec_params(
            "SELECT f.state, extract(epoch FROM j.started_at - f.received_at) "
            "FROM forget_requests f LEFT JOIN job_requests jr ON jr.request_id = f.id "
            "LEFT JOIN jobs j ON j.id = jr.job_id WHERE f.id = $1",
            id);
        state = r[0][0].as<std::string>();
        if (state == "failed" || state == "completed") {
          latencies.push_back(r[0][1].as<double>() * 1000.0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    worker.Stop();
    loop.join();
    std::printf("%-22s requests=%zu  enqueue->claim ms: p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
                notify ? "NOTIFY lethe_jobs" : "polling only", latencies.size(),
                Percentile(latencies, 0.5), Percentile(latencies, 0.9), Percentile(latencies, 0.99),
                Percentile(latencies, 1.0));
    if (!notify) std::printf("(poll interval %.2f s)\n", poll);
  }
  testing::DropTestDatabase(db);
  return 0;
}

}  // namespace
}  // namespace lethe::worker

int main(int argc, char** argv) { return lethe::worker::Run(argc, argv); }
