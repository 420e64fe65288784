#include "common/dataset_manifest.h"

#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/validation.h"
#include "engine/base/json.h"

namespace lethe {

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::vector<DatasetItem>> ParseDatasetManifest(std::string_view text,
                                                              const std::string& source,
                                                              int64_t num_classes) {
  std::vector<DatasetItem> items;
  std::unordered_set<std::string> seen;
  int64_t line_no = 0;
  int format = 0;  // 0 unknown, 1 TSV, 2 JSONL
  for (absl::string_view line_view :
       absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    std::string_view line(line_view.data(), line_view.size());
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto fail = [&](const std::string& problem) {
      return MakeError(absl::StatusCode::kInvalidArgument, "BAD_DATASET_MANIFEST",
                       absl::StrCat(source, ":", line_no, ": ", problem),
                       {{"file", source}, {"line", std::to_string(line_no)}});
    };
    int this_format = line[0] == '{' ? 2 : 1;
    if (format == 0) format = this_format;
    if (format != this_format) return fail("mixes TSV and JSON lines");
    DatasetItem item;
    if (format == 1) {
      std::vector<std::string> cols =
          absl::StrSplit(absl::string_view(line.data(), line.size()), '\t');
      if (cols.size() != 4) {
        return fail(
            absl::StrCat("expected 4 tab-separated columns "
                         "(item_id, sha256, label, split), got ",
                         cols.size()));
      }
      item.id = cols[0];
      item.sha256 = cols[1];
      if (!absl::SimpleAtoi(cols[2], &item.label)) {
        return fail(absl::StrCat("label \"", cols[2], "\" is not an integer"));
      }
      item.split = cols[3];
    } else {
      try {
        Json j = Json::Parse(line);
        item.id = j.at("id").AsString();
        item.sha256 = j.at("sha256").AsString();
        item.label = j.at("label").AsInt();
        item.split = j.at("split").AsString();
      } catch (const std::exception& e) {
        return fail(e.what());
      }
    }
    absl::Status id_ok = CheckItemId("item_id", item.id);
    if (!id_ok.ok()) return fail(std::string(id_ok.message()));
    if (!IsSha256Hex(item.sha256)) {
      return fail(absl::StrCat("sha256 of \"", item.id, "\" is not 64 lowercase hex digits"));
    }
    if (item.label < 0 || item.label >= num_classes) {
      return fail(absl::StrCat("label ", item.label, " of \"", item.id, "\" is outside [0, ",
                               num_classes, ")"));
    }
    if (item.split != "train" && item.split != "test") {
      return fail(
          absl::StrCat("split \"", item.split, "\" of \"", item.id, "\" is not train or test"));
    }
    if (!seen.insert(item.id).second) {
      return fail(absl::StrCat("duplicate item id \"", item.id, "\""));
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "BAD_DATASET_MANIFEST",
                     absl::StrCat(source, ": lists no items"), {{"file", source}});
  }
  return items;
}

absl::StatusOr<std::string> FormatDatasetManifestTsv(const std::vector<DatasetItem>& items) {
  std::string out;
  for (const DatasetItem& item : items) {
    if (!item.id.empty() && (item.id[0] == '#' || item.id[0] == '{')) {
      return MakeError(absl::StatusCode::kInvalidArgument, "BAD_DATASET_MANIFEST",
                       absl::StrCat("item id \"", item.id, "\" starts with '", item.id.substr(0, 1),
                                    "': a TSV line cannot list it (write JSONL)"));
    }
    absl::StrAppend(&out, item.id, "\t", item.sha256, "\t", item.label, "\t", item.split, "\n");
  }
  return out;
}

}  // namespace lethe
