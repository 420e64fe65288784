#include "worker/job_report.h"

#include <cmath>
#include <set>

namespace lethe::worker {
namespace {

Json DoubleOr(double v) { return std::isfinite(v) && v >= 0 ? Json(v) : Json(); }

Json RequestIds(const JobInputs& in) {
  Json reqs = Json::Array();
  for (const RequestInput& r : in.requests) reqs.Push(r.id);
  return reqs;
}

}  // namespace

Json RetrainReport(int64_t iterations, double seconds) {
  Json report = Json::Object();
  Json dest = Json::Object();
  dest["reached"] = true;
  dest["metric"] = "exact_retraining";
  dest["policy"] = "exact";
  dest["requirement"] = "retrained from scratch without the forget set and every tombstoned item";
  dest["stop_reason"] = "retraining finished";
  report["destination_reached"] = true;
  report["destination"] = dest;
  report["iterations"] = iterations;
  Json phase = Json::Object();
  phase["retraining"] = seconds;
  report["seconds"] = phase;
  return report;
}

void AddJobSections(const JobInputs& in, const std::string& worker_id, const ForgetSummary& forget,
                    const DataSummary& data, const std::map<std::string, double>& phase_seconds,
                    Json* report) {
  Json job = Json::Object();
  job["id"] = in.lease.job_id;
  job["attempt"] = in.lease.attempt;
  job["kind"] = in.kind;
  job["worker"] = worker_id;
  job["requests"] = RequestIds(in);
  (*report)["job"] = job;
  Json model = Json::Object();
  model["name"] = in.model.name;
  model["base_version"] = in.base.id;
  model["base_sha256"] = in.base.sha256;
  (*report)["model"] = model;
  Json f = Json::Object();
  f["kind"] = forget.is_class ? "class" : "items";
  if (forget.is_class) f["class"] = forget.forget_class;
  f["items"] = forget.items;
  f["unmatched_uploads"] = forget.unmatched_uploads;
  if (forget.unmatched_uploads > 0) f["upload_labels"] = "predicted by the evaluator";
  if (forget.is_class) f["class_separation_fd"] = DoubleOr(forget.class_separation_fd);
  (*report)["forget"] = f;
  Json d = Json::Object();
  d["spec"] = data.spec.empty() ? "fashion-mnist" : data.spec;
  d["retained_items"] = data.retained_items;
  d["excluded_items"] = data.excluded_items;
  d["earlier_tombstones"] = int64_t(in.tombstones.size());
  d["served_retained_items"] = data.served_retained_items;
  d["test_items"] = data.test_items;
  (*report)["data"] = d;
  Json seconds = Json::Object();
  for (const auto& [k, v] : phase_seconds) seconds[k] = v;
  (*report)["phase_seconds"] = seconds;
}

Json NewVersionManifest(const Json& inherited, const Json& base_manifest, const JobInputs& in,
                        const std::vector<ForgottenItem>& forgotten, const Json& verdict) {
  // SaveCheckpoint writes these itself.
  const std::set<std::string> reserved = {"format_version", "config",     "num_classes", "w_avg",
                                          "w_class_avg",    "created_at", "files"};
  Json manifest = Json::Object();
  for (const auto& [k, v] : inherited.items()) {
    if (!reserved.count(k)) manifest[k] = v;
  }
  manifest["parent"] = in.base.sha256;
  std::set<std::string> forgotten_hashes;
  if (base_manifest.Has("forgotten_sha256") && base_manifest.at("forgotten_sha256").is_array()) {
    for (const Json& h : base_manifest.at("forgotten_sha256").elements()) {
      if (h.is_string()) forgotten_hashes.insert(h.AsString());
    }
  }
  for (const ForgottenItem& f : forgotten) forgotten_hashes.insert(f.sha256);
  manifest["forgotten_sha256"] =
      Json::ArrayOf(std::vector<std::string>(forgotten_hashes.begin(), forgotten_hashes.end()));
  Json lineage = Json::Object();
  lineage["job"] = in.lease.job_id;
  lineage["kind"] = in.kind;
  lineage["requests"] = RequestIds(in);
  lineage["destination"] = verdict;
  manifest["unlearning"] = lineage;
  return manifest;
}

}  // namespace lethe::worker
