// Which training items an item forget request names. The database answers one lookup
// (the named ids, the train items whose pixels hash like an upload, and their
// tombstones); deciding what that answer means is pure logic kept here, so every refusal
// (unknown ids, test-split ids, unmatched uploads, items already forgotten) and the order
// of the stored rows can be tested without a database or a gRPC call.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/submit_validator.h"
#include "server/submit_writer.h"

namespace lethe {

// One dataset_items row as the submit lookup returns it.
struct ManifestItem {
  std::string sha256;
  std::string split;  // "train" | "test"
};

// What the submit lookup found for one model.
struct ItemLookup {
  std::map<std::string, ManifestItem> by_id;                // requested ids that exist
  std::map<std::string, std::vector<std::string>> by_hash;  // train item ids per pixel hash
  std::set<std::string> tombstoned_ids;                     // ids of either map already forgotten
};

// Fills s->items (named ids first, in request order, then one row per item an upload
// matched that was not already named, or the unmatched upload itself), s->item_count and
// s->unmatched_image_count. pixel_hashes[i] is the pixel hash of v.uploads[i]. Errors:
// NOT_FOUND UNKNOWN_ITEMS, INVALID_ARGUMENT NOT_TRAINING_ITEMS, NOT_FOUND
// UNMATCHED_IMAGES (unless v.forget_unmatched_images), FAILED_PRECONDITION
// ALREADY_FORGOTTEN; each names the model and the offending items.
absl::Status MatchSubmitItems(const ItemLookup& lookup, const ValidatedSubmit& v,
                              const std::vector<std::string>& pixel_hashes,
                              const std::string& model_name, PreparedSubmit* s);

}  // namespace lethe
