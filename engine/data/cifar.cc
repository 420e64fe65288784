// CIFAR-10 binary batches: the byte-level checks live in cifar_format.h; this stacks the
// checked records into a Dataset.
#include <string>
#include <vector>

#include "engine/base/file_util.h"
#include "engine/data/cifar_format.h"
#include "engine/data/dataset.h"
#include "engine/data/image_convert.h"

namespace lethe::data {
namespace {

constexpr int64_t kSide = kCifarSide;
constexpr int64_t kRecord = kCifarRecordBytes;

}  // namespace

Dataset LoadCifar10(const std::string& dir, Split split, const LoadOptions& options) {
  ValidateLoadOptions(options);
  std::vector<std::string> files;
  if (split == Split::kTrain) {
    for (int b = 1; b <= 5; ++b)
      files.push_back(JoinPath(dir, "data_batch_" + std::to_string(b) + ".bin"));
  } else {
    files.push_back(JoinPath(dir, "test_batch.bin"));
  }
  const int num_classes = options.num_classes > 0 ? options.num_classes : kCifarClasses;
  std::vector<torch::Tensor> parts;
  for (const std::string& path : files) {
    std::string bytes = ReadMaybeGzip(path);
    const int64_t n = ParseCifarBatch(bytes, num_classes, path).count;
    torch::Tensor t = torch::from_blob(bytes.data(), {n, kRecord}, torch::kUInt8).clone();
    parts.push_back(t);
  }
  torch::Tensor all = torch::cat(parts, 0);
  const int64_t n = all.size(0);
  torch::Tensor labels = all.select(1, 0).contiguous();
  // Planes -> interleaved HWC, the order the content hash is defined on.
  torch::Tensor pixels =
      all.narrow(1, 1, kRecord - 1).view({n, 3, kSide, kSide}).permute({0, 2, 3, 1}).contiguous();
  const std::string prefix = split == Split::kTrain ? "train" : "test";
  auto id_of = [&](int64_t i) { return prefix + "/" + std::to_string(i); };
  std::vector<int64_t> kept = SelectItems(n, id_of, options);
  std::vector<std::string> ids;
  ids.reserve(kept.size());
  for (int64_t i : kept) ids.push_back(id_of(i));
  return BuildDataset("cifar10/" + prefix, pixels, labels, kept, std::move(ids), num_classes,
                      options.resolution);
}

}  // namespace lethe::data
