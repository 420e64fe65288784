// What a job's report and its new version's manifest say, built from what the engine
// executor counted. Pure JSON, free of LibTorch, so the shape of what requests, auditors
// and the model store read is tested without running the engine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/json.h"
#include "worker/job_inputs.h"

namespace lethe::worker {

// What the job forgot, as its report states it.
struct ForgetSummary {
  bool is_class = false;
  int64_t forget_class = -1;
  int64_t items = 0;                // forgotten items (one tombstone each)
  int64_t unmatched_uploads = 0;    // uploaded images that matched no training item
  double class_separation_fd = -1;  // class jobs; negative or not finite: unknown
};

// The data the job read, as its report states it.
struct DataSummary {
  std::string spec;  // the loader spec ("" = Fashion-MNIST)
  int64_t retained_items = 0;
  int64_t excluded_items = 0;
  int64_t served_retained_items = 0;  // retained items a learning phase actually read
  int64_t test_items = 0;
};

// The engine part of an exact retraining job's report: its destination is reached by
// construction (trained from scratch without anything forgotten).
Json RetrainReport(int64_t iterations, double seconds);

// Adds the sections every job report carries, whatever the engine wrote: "job", "model",
// "forget", "data" and "phase_seconds".
void AddJobSections(const JobInputs& in, const std::string& worker_id, const ForgetSummary& forget,
                    const DataSummary& data, const std::map<std::string, double>& phase_seconds,
                    Json* report);

// The manifest entries of the new version, beyond what SaveCheckpoint writes itself:
// `inherited` (the base's manifest, or the retrained checkpoint's) without SaveCheckpoint's
// own keys, the parent's digest, every forgotten hash so far (the base's "forgotten_sha256"
// and `forgotten`) and the job's lineage with its verdict.
Json NewVersionManifest(const Json& inherited, const Json& base_manifest, const JobInputs& in,
                        const std::vector<ForgottenItem>& forgotten, const Json& verdict);

}  // namespace lethe::worker
