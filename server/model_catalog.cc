#include "server/model_catalog.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace lethe {

absl::StatusOr<ModelInfo> ModelCatalog::Get(
    const std::string& name, std::optional<std::chrono::system_clock::time_point> deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
  }
  auto lease = db_->Acquire(deadline);
  if (!lease.ok()) return lease.status();
  ModelInfo info;
  try {
    pqxx::nontransaction tx(lease->conn());
    pqxx::result r = tx.exec_params(
        "SELECT name, num_classes, resolution, img_channels, item_width, item_height, "
        "item_channels FROM models WHERE name = $1",
        name);
    if (r.empty()) {
      return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_MODEL",
                       absl::StrCat("model \"", name, "\" is not registered"), {{"model", name}});
    }
    info.name = r[0][0].as<std::string>();
    info.num_classes = r[0][1].as<int>();
    info.resolution = r[0][2].as<int>();
    info.img_channels = r[0][3].as<int>();
    info.item.width = r[0][4].as<int>();
    info.item.height = r[0][5].as<int>();
    info.item.channels = r[0][6].as<int>();
  } catch (const std::exception& e) {
    lease->Discard();
    return StatusFromDbException(e, "look up model");
  }
  std::lock_guard<std::mutex> lock(mu_);
  cache_[name] = info;
  return info;
}

}  // namespace lethe
