#include "server/submit_items.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"

namespace lethe {

namespace {

// "a, b, c (and 7 more)" for error messages.
std::string Capped(const std::vector<std::string>& values, size_t cap = 10) {
  std::vector<std::string> shown;
  for (size_t i = 0; i < values.size() && i < cap; ++i) shown.push_back("\"" + values[i] + "\"");
  std::string out = absl::StrJoin(shown, ", ");
  if (values.size() > cap) absl::StrAppend(&out, " (and ", values.size() - cap, " more)");
  return out;
}

// "a,b,c" for error metadata, at most `cap` values.
std::string CappedJoin(const std::vector<std::string>& values, size_t cap = 20) {
  std::vector<std::string> shown(values.begin(), values.begin() + std::min(values.size(), cap));
  return absl::StrJoin(shown, ",");
}

// Every named id must be a training item of the model.
absl::Status CheckNamedIds(const ItemLookup& lookup, const std::vector<std::string>& item_ids,
                           const std::string& model_name) {
  std::vector<std::string> unknown, not_train;
  for (const std::string& id : item_ids) {
    auto it = lookup.by_id.find(id);
    if (it == lookup.by_id.end()) {
      unknown.push_back(id);
    } else if (it->second.split != "train") {
      not_train.push_back(id);
    }
  }
  if (!unknown.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_ITEMS",
                     absl::StrCat(unknown.size(),
                                  " item id(s) are not in the training "
                                  "manifest of model \"",
                                  model_name, "\": ", Capped(unknown)),
                     {{"field", "items.item_ids"},
                      {"unknown_count", std::to_string(unknown.size())},
                      {"unknown", CappedJoin(unknown)}});
  }
  if (!not_train.empty()) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, "NOT_TRAINING_ITEMS",
        absl::StrCat(not_train.size(),
                     " item id(s) belong to the test split of "
                     "model \"",
                     model_name, "\", which it was not trained on: ", Capped(not_train)),
        {{"field", "items.item_ids"}, {"items", CappedJoin(not_train)}});
  }
  return absl::OkStatus();
}

// Appends the rows of the uploads: one per matched item not already in s->items (the
// first of them keeps the image), or the unmatched upload itself. Returns the labels of
// the unmatched uploads ("images[3] (name)").
std::vector<std::string> AddUploads(const ItemLookup& lookup, const ValidatedSubmit& v,
                                    const std::vector<std::string>& pixel_hashes,
                                    std::set<std::string>* taken, PreparedSubmit* s) {
  std::vector<std::string> unmatched;
  for (size_t i = 0; i < v.uploads.size(); ++i) {
    const ValidatedUpload& u = v.uploads[i];
    std::optional<std::string> name =
        u.name.empty() ? std::nullopt : std::optional<std::string>(u.name);
    auto it = lookup.by_hash.find(pixel_hashes[i]);
    if (it == lookup.by_hash.end()) {
      unmatched.push_back(u.name.empty() ? absl::StrCat("images[", i, "]")
                                         : absl::StrCat("images[", i, "] (", u.name, ")"));
      s->items.push_back({std::nullopt, pixel_hashes[i], name, u.png});
      ++s->unmatched_image_count;
      continue;
    }
    bool image_kept = false;
    for (const std::string& id : it->second) {
      if (!taken->insert(id).second) continue;
      s->items.push_back({id, pixel_hashes[i], name, image_kept ? nullptr : u.png});
      image_kept = true;
    }
    if (!image_kept) {
      // Every matching item was already named: keep the upload on the first of them.
      for (PreparedItem& item : s->items) {
        if (item.item_id && *item.item_id == it->second.front() && item.image == nullptr) {
          item.image = u.png;
          item.upload_name = name;
          break;
        }
      }
    }
  }
  return unmatched;
}

}  // namespace

absl::Status MatchSubmitItems(const ItemLookup& lookup, const ValidatedSubmit& v,
                              const std::vector<std::string>& pixel_hashes,
                              const std::string& model_name, PreparedSubmit* s) {
  if (pixel_hashes.size() != v.uploads.size()) {
    return absl::InternalError(absl::StrCat(pixel_hashes.size(), " pixel hashes for ",
                                            v.uploads.size(), " uploaded images"));
  }
  if (absl::Status st = CheckNamedIds(lookup, v.item_ids, model_name); !st.ok()) return st;
  s->items.clear();
  s->unmatched_image_count = 0;
  // Rows: named ids first, then uploads.
  std::set<std::string> taken;
  for (const std::string& id : v.item_ids) {
    s->items.push_back({id, lookup.by_id.at(id).sha256, std::nullopt, nullptr});
    taken.insert(id);
  }
  std::vector<std::string> unmatched = AddUploads(lookup, v, pixel_hashes, &taken, s);
  if (!unmatched.empty() && !v.forget_unmatched_images) {
    return MakeError(
        absl::StatusCode::kNotFound, "UNMATCHED_IMAGES",
        absl::StrCat(unmatched.size(),
                     " uploaded image(s) match no training item "
                     "of model \"",
                     model_name, "\": ", Capped(unmatched),
                     "; set forget_unmatched_images to record them anyway"),
        {{"field", "items.images"}, {"unmatched_count", std::to_string(unmatched.size())}});
  }
  std::vector<std::string> already;
  for (const PreparedItem& item : s->items) {
    if (item.item_id && lookup.tombstoned_ids.count(*item.item_id)) {
      already.push_back(*item.item_id);
    }
  }
  if (!already.empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "ALREADY_FORGOTTEN",
                     absl::StrCat(already.size(), " item(s) of model \"", model_name,
                                  "\" are already forgotten: ", Capped(already)),
                     {{"field", "items"}, {"items", CappedJoin(already)}});
  }
  s->item_count = 0;
  for (const PreparedItem& item : s->items) s->item_count += item.item_id ? 1 : 0;
  return absl::OkStatus();
}

}  // namespace lethe
