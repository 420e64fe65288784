#include "worker/job_inputs.h"

#include <set>

namespace lethe::worker {

std::vector<ForgottenItem> ForgottenItemsOf(const std::vector<RequestInput>& requests) {
  std::vector<ForgottenItem> out;
  std::set<std::string> seen_ids, seen_unmatched;
  for (const RequestInput& r : requests) {
    if (r.is_class) continue;
    for (const RequestItemInput& item : r.items) {
      if (item.item_id) {
        if (!seen_ids.insert(*item.item_id).second) continue;
      } else if (!seen_unmatched.insert(item.sha256).second) {
        continue;
      }
      out.push_back({item.item_id, item.sha256, r.id});
    }
  }
  return out;
}

}  // namespace lethe::worker
