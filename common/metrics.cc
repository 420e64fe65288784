#include "common/metrics.h"

namespace lethe {
namespace {

prometheus::Histogram::BucketBoundaries RpcBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_requests_(prometheus::BuildCounter()
                        .Name("lethe_rpc_requests_total")
                        .Help("RPCs handled, by method and gRPC status code.")
                        .Register(*registry_)),
      rpc_duration_(prometheus::BuildHistogram()
                        .Name("lethe_rpc_duration_seconds")
                        .Help("RPC handling time in seconds, by method.")
                        .Register(*registry_)),
      requests_by_state_(prometheus::BuildGauge()
                             .Name("lethe_forget_requests")
                             .Help("Forget requests in the database, by state.")
                             .Register(*registry_)),
      overdue_(prometheus::BuildGauge()
                   .Name("lethe_forget_requests_overdue")
                   .Help("Open forget requests past their GDPR due date.")
                   .Register(*registry_)
                   .Add({})),
      audit_records_(prometheus::BuildGauge()
                         .Name("lethe_audit_records")
                         .Help("Records in the audit hash chain.")
                         .Register(*registry_)
                         .Add({})),
      due_soon_(prometheus::BuildGauge()
                    .Name("lethe_forget_requests_due_soon")
                    .Help("Open forget requests due within the next 7 days.")
                    .Register(*registry_)
                    .Add({})),
      queue_oldest_age_(prometheus::BuildGauge()
                            .Name("lethe_forget_queue_oldest_age_seconds")
                            .Help("Age of the oldest forget request not yet running (0 if none).")
                            .Register(*registry_)
                            .Add({})),
      audit_valid_(prometheus::BuildGauge()
                       .Name("lethe_audit_chain_valid")
                       .Help("1 if the last whole-chain audit verification passed, else 0.")
                       .Register(*registry_)),
      audit_verified_at_(prometheus::BuildGauge()
                             .Name("lethe_audit_chain_verified_timestamp_seconds")
                             .Help("Unix time of the last whole-chain audit verification.")
                             .Register(*registry_)),
      checkpoint_age_(prometheus::BuildGauge()
                          .Name("lethe_audit_checkpoint_age_seconds")
                          .Help("Age of the newest signed audit checkpoint in seconds.")
                          .Register(*registry_)),
      checkpoint_size_(prometheus::BuildGauge()
                           .Name("lethe_audit_checkpoint_tree_size")
                           .Help("Records covered by the newest signed audit checkpoint.")
                           .Register(*registry_)),
      checkpoints_(prometheus::BuildCounter()
                       .Name("lethe_audit_checkpoints_total")
                       .Help("Audit checkpoints by result: signed, refused (the tree no "
                             "longer extends the newest checkpoint) or error.")
                       .Register(*registry_)),
      submit_batch_size_(
          prometheus::BuildHistogram()
              .Name("lethe_submit_batch_size")
              .Help("Forget requests written per group-commit transaction.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})),
      submit_commit_duration_(prometheus::BuildHistogram()
                                  .Name("lethe_submit_commit_duration_seconds")
                                  .Help("Duration of one group-commit transaction of submits.")
                                  .Register(*registry_)
                                  .Add({}, RpcBuckets())) {
  for (const char* state : kRequestStates) requests_by_state_.Add({{"state", state}}).Set(0);
}

void ServerMetrics::RecordRpc(const std::string& method, const std::string& code, double seconds) {
  prometheus::Counter* counter;
  prometheus::Histogram* histogram;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& c = counters_[{method, code}];
    if (c == nullptr) c = &rpc_requests_.Add({{"method", method}, {"code", code}});
    counter = c;
    auto& h = histograms_[method];
    if (h == nullptr) h = &rpc_duration_.Add({{"method", method}}, RpcBuckets());
    histogram = h;
  }
  counter->Increment();
  histogram->Observe(seconds);
}

void ServerMetrics::SetRequestsByState(const std::map<std::string, int64_t>& counts) {
  for (const char* state : kRequestStates) {
    auto it = counts.find(state);
    requests_by_state_.Add({{"state", state}}).Set(it == counts.end() ? 0.0 : double(it->second));
  }
}

void ServerMetrics::SetOverdue(int64_t count) { overdue_.Set(double(count)); }

void ServerMetrics::SetAuditRecords(int64_t count) { audit_records_.Set(double(count)); }

void ServerMetrics::SetDueSoon(int64_t count) { due_soon_.Set(double(count)); }

void ServerMetrics::SetQueueOldestAge(double seconds) { queue_oldest_age_.Set(seconds); }

void ServerMetrics::SetAuditVerification(bool valid, double unix_seconds) {
  audit_valid_.Add({}).Set(valid ? 1.0 : 0.0);
  audit_verified_at_.Add({}).Set(unix_seconds);
}

void ServerMetrics::SetAuditCheckpoint(double age_seconds, int64_t tree_size) {
  checkpoint_age_.Add({}).Set(age_seconds);
  checkpoint_size_.Add({}).Set(double(tree_size));
}

void ServerMetrics::CountAuditCheckpoint(const std::string& result) {
  checkpoints_.Add({{"result", result}}).Increment();
}

void ServerMetrics::RecordSubmitBatch(int64_t submits, double seconds) {
  submit_batch_size_.Observe(double(submits));
  submit_commit_duration_.Observe(seconds);
}

}  // namespace lethe
