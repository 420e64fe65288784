// The data set manifest: every item a model may have been trained on, with the content
// hash the server matches uploads against. `lethe-engine manifest` writes it; the server
// loads it into dataset_items when a model is registered.
//
// Format (UTF-8 text, optionally gzip-compressed), one item per line, either
//   TSV:   item_id <TAB> sha256 <TAB> label <TAB> split
//   JSONL: {"id": "train/0", "sha256": "<64 hex>", "label": 9, "split": "train"}
// (the first non-comment line decides; all lines use the same form). Blank lines and
// lines starting with '#' are ignored. item_id follows the item-id rules of
// common/validation.h and is unique; sha256 is lowercase hex of SHA-256 over the item's
// decoded 8-bit row-major pixels (for IDX files: the raw bytes of the image); label is an
// integer in [0, num_classes); split is "train" or "test". An id starting with '#' or '{'
// can only be listed in JSONL (a TSV line starting so is a comment or a JSON line).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lethe {

struct DatasetItem {
  std::string id;
  std::string sha256;
  int64_t label = 0;
  std::string split;  // "train" | "test"
};

// Errors are INVALID_ARGUMENT "SOURCE:LINE: problem".
absl::StatusOr<std::vector<DatasetItem>> ParseDatasetManifest(std::string_view text,
                                                              const std::string& source,
                                                              int64_t num_classes);

// INVALID_ARGUMENT if an id starts with '#' or '{' (see above): never a file that would
// read back as fewer or different items.
absl::StatusOr<std::string> FormatDatasetManifestTsv(const std::vector<DatasetItem>& items);

bool IsSha256Hex(std::string_view s);

}  // namespace lethe
