#include "worker/coalesce.h"

#include <algorithm>

namespace lethe::worker {

Batch PlanBatch(const std::vector<QueuedRequest>& queued, int64_t max_batch_items) {
  Batch batch;
  if (queued.empty()) return batch;
  max_batch_items = std::max<int64_t>(1, max_batch_items);
  const QueuedRequest& first = queued.front();
  batch.request_ids.push_back(first.id);
  batch.items = first.items;
  if (first.is_class) return batch;
  for (size_t i = 1; i < queued.size(); ++i) {
    const QueuedRequest& r = queued[i];
    if (r.is_class || r.settings != first.settings) continue;
    if (batch.items + r.items > max_batch_items) continue;
    batch.request_ids.push_back(r.id);
    batch.items += r.items;
  }
  return batch;
}

std::string SettingsKey(const std::string& mode, const std::string& substitute,
                        const std::string& params_canonical) {
  return mode + "|" + substitute + "|" + params_canonical;
}

}  // namespace lethe::worker
