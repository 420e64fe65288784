// The immutable facts about registered models (classes, item shape) that every submit
// needs, cached after the first lookup: a model's shape never changes once registered,
// so the cache cannot go stale (versions and the production alias are not cached).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "server/upload_image.h"

namespace lethe {

struct ModelInfo {
  std::string name;
  int num_classes = 0;
  int resolution = 0;
  int img_channels = 0;
  ItemShape item;
};

class ModelCatalog {
 public:
  explicit ModelCatalog(DbPool* db) : db_(db) {}

  // NOT_FOUND (reason UNKNOWN_MODEL) when no such model is registered.
  absl::StatusOr<ModelInfo> Get(const std::string& name,
                                std::optional<std::chrono::system_clock::time_point> deadline);

 private:
  DbPool* db_;
  std::mutex mu_;
  std::map<std::string, ModelInfo> cache_;
};

}  // namespace lethe
