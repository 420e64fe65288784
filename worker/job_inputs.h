// What one job works on, read from PostgreSQL at the start of each attempt, and what the
// engine hands back. Plain data, free of SQL and LibTorch, so the job's logic (tombstones,
// results, reports) is tested without either.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/json.h"

namespace lethe::worker {

// The fencing token of a claimed job: every write that completes or publishes it is
// conditioned on (id, attempt, state = 'running').
struct JobLease {
  std::string job_id;
  int64_t attempt = 0;
};

struct RequestItemInput {
  int64_t ordinal = 0;
  std::optional<std::string> item_id;  // nullopt: an uploaded image that matched nothing
  std::string sha256;
  std::string upload_name;
  std::optional<std::string> png;  // uploaded bytes, while the request is open
};

struct RequestInput {
  std::string id;
  bool is_class = false;
  int64_t class_label = -1;
  std::string mode;        // few_shot | zero_shot
  std::string substitute;  // average | truncation | projection | other_class
  Json params = Json::Object();
  bool cancel_requested = false;
  std::vector<RequestItemInput> items;
};

struct ModelInfo {
  std::string name;
  int64_t num_classes = 0;
  int64_t resolution = 0;
  int64_t img_channels = 0;
  int64_t item_width = 0;
  int64_t item_height = 0;
  int64_t item_channels = 0;
  std::string preset;
  std::string dataset_name;
  std::string dataset_fingerprint;
  Json config = Json::Object();
};

struct VersionInfo {
  int64_t id = 0;
  std::string sha256;
  std::string uri;  // model store key
};

struct TombstoneInput {
  std::optional<std::string> item_id;
  std::string sha256;
};

struct JobInputs {
  JobLease lease;
  std::string kind;  // unlearn | retrain
  ModelInfo model;
  VersionInfo base;  // the production version the job starts from
  std::vector<RequestInput> requests;
  std::vector<TombstoneInput> tombstones;  // every earlier tombstone of the model
};

// One forgotten item, as recorded in `tombstones`.
struct ForgottenItem {
  std::optional<std::string> item_id;
  std::string sha256;
  std::string request_id;
};

// What the engine produced for one attempt.
struct ExecutionResult {
  bool destination_reached = false;
  // A complete new version (manifest.json, weights, sample.png, report.json) in a local
  // directory, when the destination was reached.
  std::string version_dir;
  std::string digest;                        // SHA-256 of version_dir/manifest.json
  std::map<std::string, std::string> files;  // name -> sha256, manifest.json excluded
  Json report = Json::Object();              // the verification report
  Json metrics_before = Json::Object();
  Json metrics_after = Json::Object();
  Json verdict = Json::Object();         // {"reached", "metric", "threshold", "value", ...}
  std::vector<ForgottenItem> forgotten;  // what the new version no longer holds
  int64_t iterations = 0;
  std::map<std::string, double> phase_seconds;  // inverting, unlearning, evaluating
};

// Items of the job's item requests, deduplicated by item id (training items) or content
// hash (unmatched uploads), attributed to the first request naming them.
std::vector<ForgottenItem> ForgottenItemsOf(const std::vector<RequestInput>& requests);

}  // namespace lethe::worker
