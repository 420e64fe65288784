// Fuzzes the data set manifest parser the server runs when a model is registered
// (ParseDatasetManifest over the bytes of a TSV or JSONL file, gzip-compressed or not).
// The first input byte picks the model's class count (1 to 256); the rest is the file. As
// the server does (ReadMaybeGzip), a body starting with the gzip magic is inflated first.
//
// Nothing may crash. An accepted manifest must keep every documented promise (valid,
// unique item ids; 64 lowercase hex digits; labels in range; train or test) and must mean
// the same items when written again as JSONL, and as TSV whenever the TSV writer accepts
// it; a refused one is INVALID_ARGUMENT naming the file.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/dataset_manifest.h"
#include "common/validation.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"

namespace {

constexpr char kSource[] = "fuzz/items.tsv";

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool SameItems(const std::vector<lethe::DatasetItem>& a, const std::vector<lethe::DatasetItem>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].sha256 != b[i].sha256 || a[i].label != b[i].label ||
        a[i].split != b[i].split)
      return false;
  }
  return true;
}

std::string ToJsonl(const std::vector<lethe::DatasetItem>& items) {
  std::string out;
  for (const lethe::DatasetItem& item : items) {
    lethe::Json j = lethe::Json::Object();
    j["id"] = item.id;
    j["sha256"] = item.sha256;
    j["label"] = item.label;
    j["split"] = item.split;
    out += j.Dump() + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t num_classes = int64_t(data[0]) + 1;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1f &&
      static_cast<unsigned char>(text[1]) == 0x8b) {
    try {
      text = lethe::Gunzip(text, kSource);
    } catch (const lethe::Error& e) {
      Check(std::string_view(e.what()).find(kSource) != std::string_view::npos);
      return 0;
    }
  }

  auto parsed = lethe::ParseDatasetManifest(text, kSource, num_classes);
  if (!parsed.ok()) {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    Check(parsed.status().message().rfind(kSource, 0) == 0);
    return 0;
  }
  const std::vector<lethe::DatasetItem>& items = *parsed;
  Check(!items.empty());
  std::set<std::string> ids;
  for (const lethe::DatasetItem& item : items) {
    Check(lethe::CheckItemId("item_id", item.id).ok());
    Check(lethe::IsSha256Hex(item.sha256));
    Check(item.label >= 0 && item.label < num_classes);
    Check(item.split == "train" || item.split == "test");
    Check(ids.insert(item.id).second);
  }
  // What was accepted must survive being written out again: always as JSONL; as TSV unless
  // an id starts with '#' or '{', which TSV cannot list (then the writer must refuse).
  bool tsv_can_list = true;
  for (const lethe::DatasetItem& item : items)
    tsv_can_list = tsv_can_list && item.id[0] != '#' && item.id[0] != '{';
  auto tsv_text = lethe::FormatDatasetManifestTsv(items);
  Check(tsv_text.ok() == tsv_can_list);
  if (tsv_text.ok()) {
    auto tsv = lethe::ParseDatasetManifest(*tsv_text, kSource, num_classes);
    Check(tsv.ok() && SameItems(*tsv, items));
  }
  auto jsonl = lethe::ParseDatasetManifest(ToJsonl(items), kSource, num_classes);
  Check(jsonl.ok() && SameItems(*jsonl, items));
  return 0;
}
