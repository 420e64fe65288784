#include "engine/unlearn/lineage.h"

#include <map>

namespace lethe::unlearn {

Json ChildManifest(const Json& parent_manifest, const std::string& parent_digest,
                   const data::Dataset& forgotten, const Json& how) {
  std::map<std::string, Json> items;
  if (parent_manifest.is_object() && parent_manifest.Has("forgotten") &&
      parent_manifest.at("forgotten").is_array())
    for (const Json& item : parent_manifest.at("forgotten").elements())
      items[item.at("id").AsString()] = item;
  Json now = Json::Array();
  torch::Tensor labels = forgotten.labels.defined()
                             ? forgotten.labels.to(torch::kCPU, torch::kLong).contiguous()
                             : torch::Tensor();
  for (int64_t i = 0; i < forgotten.size(); ++i) {
    Json item = Json::Object();
    item["id"] = forgotten.ids[size_t(i)];
    item["hash"] = forgotten.hashes[size_t(i)];
    if (labels.defined()) item["label"] = labels.data_ptr<int64_t>()[i];
    items[forgotten.ids[size_t(i)]] = item;
    now.Push(Json(forgotten.ids[size_t(i)]));
  }
  Json all = Json::Array();
  for (auto& [id, item] : items) all.Push(item);
  Json extra = Json::Object();
  extra["parent"] = parent_digest;
  extra["forgotten"] = all;
  extra["forgotten_now"] = now;
  extra["unlearning"] = how;
  if (parent_manifest.is_object()) {
    if (parent_manifest.Has("dataset")) extra["dataset"] = parent_manifest.at("dataset");
    if (parent_manifest.Has("training")) extra["training"] = parent_manifest.at("training");
  }
  return extra;
}

}  // namespace lethe::unlearn
