#include "common/worker_metrics.h"

#include <cmath>

namespace lethe {
namespace {

prometheus::Histogram::BucketBoundaries PhaseBuckets() {
  return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};
}

prometheus::Histogram::BucketBoundaries WaitBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600, 3600};
}

}  // namespace

WorkerMetrics::WorkerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      jobs_(prometheus::BuildCounter()
                .Name("lethe_worker_jobs_total")
                .Help("Jobs this worker finished, by outcome.")
                .Register(*registry_)),
      phase_duration_(prometheus::BuildHistogram()
                          .Name("lethe_worker_phase_duration_seconds")
                          .Help("Time spent in each phase of a job, in seconds.")
                          .Register(*registry_)),
      claim_wait_(prometheus::BuildHistogram()
                      .Name("lethe_worker_claim_wait_seconds")
                      .Help("Time from a request's receipt to the claim of its job, in seconds.")
                      .Register(*registry_)
                      .Add({}, WaitBuckets())),
      job_duration_(prometheus::BuildHistogram()
                        .Name("lethe_worker_job_duration_seconds")
                        .Help("Time from claiming a job to finishing it, in seconds.")
                        .Register(*registry_)
                        .Add({}, PhaseBuckets())),
      request_completion_(
          prometheus::BuildHistogram()
              .Name("lethe_worker_request_completion_seconds")
              .Help("Time from a request's receipt to its completion, in seconds.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 10, 30, 60, 120, 300, 600,
                                                               1800, 3600, 7200, 21600, 86400,
                                                               604800, 2592000})),
      iterations_(prometheus::BuildCounter()
                      .Name("lethe_worker_cascade_iterations_total")
                      .Help("Cascade iterations run by this worker.")
                      .Register(*registry_)
                      .Add({})),
      last_auc_u_(prometheus::BuildGauge()
                      .Name("lethe_worker_last_auc_u")
                      .Help("AUC_u of the last finished cascade (destination: >= 0.8).")
                      .Register(*registry_)
                      .Add({})),
      last_logan_auc_(prometheus::BuildGauge()
                          .Name("lethe_worker_last_logan_auc")
                          .Help("LOGAN AUC_MIA of the last finished cascade (about 0.5: "
                                "forgotten images look like never-seen ones).")
                          .Register(*registry_)
                          .Add({})),
      last_fd_u_(prometheus::BuildGauge()
                     .Name("lethe_worker_last_fd_u")
                     .Help("FD_u of the last finished class cascade.")
                     .Register(*registry_)
                     .Add({})),
      last_fd_l_(prometheus::BuildGauge()
                     .Name("lethe_worker_last_fd_l")
                     .Help("FD_l (model quality on retained data) of the last published version.")
                     .Register(*registry_)
                     .Add({})),
      last_fd_l_base_(prometheus::BuildGauge()
                          .Name("lethe_worker_last_fd_l_base")
                          .Help("FD_l of the version the last finished job started from.")
                          .Register(*registry_)
                          .Add({})),
      lease_renewals_(prometheus::BuildCounter()
                          .Name("lethe_worker_lease_renewals_total")
                          .Help("Successful job lease renewals.")
                          .Register(*registry_)
                          .Add({})),
      lease_losses_(prometheus::BuildCounter()
                        .Name("lethe_worker_lease_losses_total")
                        .Help("Jobs this worker lost to another worker after its lease expired.")
                        .Register(*registry_)
                        .Add({})),
      published_(prometheus::BuildCounter()
                     .Name("lethe_worker_versions_published_total")
                     .Help("Model versions published by this worker.")
                     .Register(*registry_)
                     .Add({})),
      purged_(prometheus::BuildCounter()
                  .Name("lethe_worker_versions_purged_total")
                  .Help("Superseded model versions purged by this worker.")
                  .Register(*registry_)
                  .Add({})),
      retries_(prometheus::BuildCounter()
                   .Name("lethe_worker_transient_retries_total")
                   .Help("Retries after transient failures (database, model store).")
                   .Register(*registry_)
                   .Add({})),
      heartbeat_(prometheus::BuildGauge()
                     .Name("lethe_worker_last_heartbeat_timestamp_seconds")
                     .Help("Unix time of the worker's last successful contact with PostgreSQL.")
                     .Register(*registry_)
                     .Add({})),
      busy_(prometheus::BuildGauge()
                .Name("lethe_worker_busy")
                .Help("1 while the worker runs a job.")
                .Register(*registry_)
                .Add({})) {
  for (const char* o : kWorkerJobOutcomes) jobs_.Add({{"outcome", o}});
  for (const char* p : kWorkerPhases) phase_duration_.Add({{"phase", p}}, PhaseBuckets());
}

void WorkerMetrics::JobFinished(const std::string& outcome) {
  jobs_.Add({{"outcome", outcome}}).Increment();
}

void WorkerMetrics::PhaseDuration(const std::string& phase, double seconds) {
  phase_duration_.Add({{"phase", phase}}, PhaseBuckets()).Observe(seconds);
}

void WorkerMetrics::ClaimWait(double seconds) { claim_wait_.Observe(seconds); }
void WorkerMetrics::JobDuration(double seconds) { job_duration_.Observe(seconds); }
void WorkerMetrics::Iterations(int64_t n) {
  if (n > 0) iterations_.Increment(double(n));
}

void WorkerMetrics::RequestCompleted(double seconds) { request_completion_.Observe(seconds); }

void WorkerMetrics::LastDestination(double auc_u, double logan_auc, double fd_u, double fd_l,
                                    double fd_l_base) {
  auto set = [](prometheus::Gauge& g, double v) {
    if (std::isfinite(v) && v >= 0) g.Set(v);
  };
  set(last_auc_u_, auc_u);
  set(last_logan_auc_, logan_auc);
  set(last_fd_u_, fd_u);
  set(last_fd_l_, fd_l);
  set(last_fd_l_base_, fd_l_base);
}

void WorkerMetrics::LeaseRenewed(double unix_seconds) {
  lease_renewals_.Increment();
  heartbeat_.Set(unix_seconds);
}

void WorkerMetrics::DatabaseContact(double unix_seconds) { heartbeat_.Set(unix_seconds); }

void WorkerMetrics::LeaseLost() { lease_losses_.Increment(); }
void WorkerMetrics::Published() { published_.Increment(); }
void WorkerMetrics::Purged(int64_t versions) {
  if (versions > 0) purged_.Increment(double(versions));
}
void WorkerMetrics::TransientRetry() { retries_.Increment(); }
void WorkerMetrics::SetBusy(bool busy) { busy_.Set(busy ? 1 : 0); }

}  // namespace lethe
