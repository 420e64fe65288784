// CIFAR-10 binary version: each record is 1 label byte then 3072 pixel bytes (1024 R, 1024
// G, 1024 B planes of a 32x32 image, row-major).
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/dataset.h"
#include "engine/data/image_convert.h"

namespace lethe::data {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kRecord = 1 + 3 * kSide * kSide;
constexpr int kCifarClasses = 10;

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
    if (bytes.empty() || bytes.size() % size_t(kRecord) != 0)
      throw Error("truncated or malformed CIFAR-10 batch " + path + ": " +
                  std::to_string(bytes.size()) + " bytes is not a whole number of " +
                  std::to_string(kRecord) + "-byte records");
    const int64_t n = int64_t(bytes.size()) / kRecord;
    torch::Tensor t = torch::from_blob(bytes.data(), {n, kRecord}, torch::kUInt8).clone();
    torch::Tensor l = t.select(1, 0).to(torch::kInt64);
    torch::Tensor out_of_range = (l >= num_classes).nonzero();
    if (out_of_range.size(0) > 0) {
      const int64_t bad = out_of_range[0][0].item<int64_t>();
      throw Error("label " + std::to_string(l[bad].item<int64_t>()) + " of record " +
                  std::to_string(bad) + " out of range [0, " + std::to_string(num_classes) +
                  ") in " + path);
    }
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
