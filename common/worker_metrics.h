// Prometheus metrics of lethe-worker, defined next to the server's (common/metrics.h) so
// every name, label and bucket of Lethe is reviewed in one directory. Labels are bounded
// sets (outcome, phase); nothing is labelled per request, model version or subject.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace lethe {

// lethe_worker_jobs_total{outcome}.
inline constexpr const char* kWorkerJobOutcomes[] = {"published", "failed",   "cancelled",
                                                     "escalated", "released", "lease_lost"};
// lethe_worker_phase_duration_seconds{phase}.
inline constexpr const char* kWorkerPhases[] = {"loading", "inverting", "unlearning", "evaluating",
                                                "publishing"};

class WorkerMetrics {
 public:
  WorkerMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void JobFinished(const std::string& outcome);                  // one of kWorkerJobOutcomes
  void PhaseDuration(const std::string& phase, double seconds);  // one of kWorkerPhases
  void ClaimWait(double seconds);                                // request received -> job claimed
  void JobDuration(double seconds);                              // claim -> finished
  void RequestCompleted(double seconds);                         // request received -> COMPLETED
  void Iterations(int64_t iterations);                           // cascade iterations of one job
  // Metrics of the last finished cascade; NaN or negative values leave a gauge unchanged.
  // fd_l_base is FD_l of the version the job started from.
  void LastDestination(double auc_u, double logan_auc, double fd_u, double fd_l, double fd_l_base);
  // A successful lease renewal (also a contact with PostgreSQL).
  void LeaseRenewed(double unix_seconds);
  // Any successful contact with PostgreSQL (claim attempt, lease renewal): an idle worker
  // keeps lethe_worker_last_heartbeat_timestamp_seconds fresh too.
  void DatabaseContact(double unix_seconds);
  void LeaseLost();
  void Published();
  void Purged(int64_t versions);
  void TransientRetry();
  void SetBusy(bool busy);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& jobs_;
  prometheus::Family<prometheus::Histogram>& phase_duration_;
  prometheus::Histogram& claim_wait_;
  prometheus::Histogram& job_duration_;
  prometheus::Histogram& request_completion_;
  prometheus::Counter& iterations_;
  prometheus::Gauge& last_auc_u_;
  prometheus::Gauge& last_logan_auc_;
  prometheus::Gauge& last_fd_u_;
  prometheus::Gauge& last_fd_l_;
  prometheus::Gauge& last_fd_l_base_;
  prometheus::Counter& lease_renewals_;
  prometheus::Counter& lease_losses_;
  prometheus::Counter& published_;
  prometheus::Counter& purged_;
  prometheus::Counter& retries_;
  prometheus::Gauge& heartbeat_;
  prometheus::Gauge& busy_;
};

}  // namespace lethe
