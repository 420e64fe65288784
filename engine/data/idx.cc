// IDX files (the MNIST family): the byte-level checks live in idx_format.h; this turns the
// checked buffers into a Dataset.
#include <string>
#include <vector>

#include "engine/base/file_util.h"
#include "engine/data/dataset.h"
#include "engine/data/idx_format.h"
#include "engine/data/image_convert.h"

namespace lethe::data {
namespace {

constexpr int kIdxDefaultClasses = 10;

}  // namespace

Dataset LoadIdx(const std::string& images_path, const std::string& labels_path,
                const std::string& id_prefix, const LoadOptions& options) {
  ValidateLoadOptions(options);
  // Raw bytes must outlive the from_blob views below.
  std::string image_bytes = ReadMaybeGzip(images_path);
  std::string label_bytes = ReadMaybeGzip(labels_path);
  const int num_classes = options.num_classes > 0 ? options.num_classes : kIdxDefaultClasses;
  const IdxPairView view =
      ParseIdxPair(image_bytes, label_bytes, num_classes, images_path, labels_path);
  const int64_t n = view.count;

  auto id_of = [&](int64_t i) { return id_prefix + "/" + std::to_string(i); };
  std::vector<int64_t> kept = SelectItems(n, id_of, options);
  std::vector<std::string> ids;
  ids.reserve(kept.size());
  for (int64_t i : kept) ids.push_back(id_of(i));

  torch::Tensor pixels = torch::from_blob(image_bytes.data() + view.image_offset,
                                          {n, view.rows, view.cols, 1}, torch::kUInt8);
  torch::Tensor labels =
      torch::from_blob(label_bytes.data() + view.label_offset, {n}, torch::kUInt8);
  return BuildDataset(id_prefix, pixels, labels, kept, std::move(ids), num_classes,
                      options.resolution);
}

}  // namespace lethe::data
