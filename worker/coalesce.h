// Coalescing: item requests for one model that queued up while its previous job ran are
// served by one job (one inversion, one cascade, one new version). Pure logic over the
// queued requests, oldest first, so the rule is tested without a database.
//
// Rules:
//   - the oldest request is always taken (no request starves, even one larger than the
//     batch limit);
//   - a class request runs alone, and only as the oldest request;
//   - item requests join the oldest one when they run with the same settings (mode,
//     substitute, hyperparameters: one cascade has one set) and the batch stays within
//     `max_batch_items` items (training items + uploaded images); requests that do not fit
//     or differ wait for a later job, in order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lethe::worker {

struct QueuedRequest {
  std::string id;
  bool is_class = false;
  // Everything that must agree for two requests to share one cascade (SettingsKey()).
  std::string settings;
  int64_t items = 0;
};

struct Batch {
  std::vector<std::string> request_ids;  // in queue order
  int64_t items = 0;
};

// Empty when `queued` is empty. max_batch_items < 1 is treated as 1.
Batch PlanBatch(const std::vector<QueuedRequest>& queued_oldest_first, int64_t max_batch_items);

// The coalescing key of a request's run settings; `params_canonical` is the canonical JSON
// of its hyperparameters.
std::string SettingsKey(const std::string& mode, const std::string& substitute,
                        const std::string& params_canonical);

}  // namespace lethe::worker
