// Every Prometheus metric of Lethe's services is defined here, so names, labels and
// buckets stay consistent and can be reviewed in one place. Processes expose them with
// prometheus::Exposer on their own HTTP port.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace lethe {

// The forget-request states, as stored (forget_requests.state).
inline constexpr const char* kRequestStates[] = {"received",  "queued", "running",
                                                 "completed", "failed", "cancelled"};

class ServerMetrics {
 public:
  ServerMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // One finished RPC: lethe_rpc_requests_total{method,code} and
  // lethe_rpc_duration_seconds{method}.
  void RecordRpc(const std::string& method, const std::string& code, double seconds);
  // lethe_forget_requests{state}; states missing from the map are set to 0.
  void SetRequestsByState(const std::map<std::string, int64_t>& counts);
  // lethe_forget_requests_overdue: open requests past their due date.
  void SetOverdue(int64_t count);
  // lethe_audit_records: length of the audit chain.
  void SetAuditRecords(int64_t count);
  // lethe_forget_requests_due_soon: open requests due within the next 7 days.
  void SetDueSoon(int64_t count);
  // lethe_forget_queue_oldest_age_seconds: age of the oldest request not yet running.
  void SetQueueOldestAge(double seconds);
  // lethe_audit_chain_valid (1/0) and lethe_audit_chain_verified_timestamp_seconds, set
  // only once a whole-chain verification has finished (no false alarm at start).
  void SetAuditVerification(bool valid, double unix_seconds);
  // The newest signed audit checkpoint (set only once one exists, so a server without a
  // signing key exports neither): lethe_audit_checkpoint_age_seconds and
  // lethe_audit_checkpoint_tree_size.
  void SetAuditCheckpoint(double age_seconds, int64_t tree_size);
  // lethe_audit_checkpoints_total{result}: checkpoints signed ("signed") or refused because
  // the tree no longer extends the newest one ("refused"), and failures ("error").
  void CountAuditCheckpoint(const std::string& result);
  // One group-commit transaction of `submits` forget requests:
  // lethe_submit_batch_size and lethe_submit_commit_duration_seconds.
  void RecordSubmitBatch(int64_t submits, double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Gauge>& requests_by_state_;
  prometheus::Gauge& overdue_;
  prometheus::Gauge& audit_records_;
  prometheus::Gauge& due_soon_;
  prometheus::Gauge& queue_oldest_age_;
  prometheus::Family<prometheus::Gauge>& audit_valid_;
  prometheus::Family<prometheus::Gauge>& audit_verified_at_;
  prometheus::Family<prometheus::Gauge>& checkpoint_age_;
  prometheus::Family<prometheus::Gauge>& checkpoint_size_;
  prometheus::Family<prometheus::Counter>& checkpoints_;
  prometheus::Histogram& submit_batch_size_;
  prometheus::Histogram& submit_commit_duration_;

  // Metric children cached per label set (Family::Add hashes its labels on each call).
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> counters_;
  std::map<std::string, prometheus::Histogram*> histograms_;
};

}  // namespace lethe
