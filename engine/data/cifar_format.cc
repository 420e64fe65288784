#include "engine/data/cifar_format.h"

#include "engine/base/error.h"

namespace lethe::data {

CifarBatchView ParseCifarBatch(std::string_view data, int num_classes, const std::string& path) {
  if (num_classes < 1)
    throw Error("num_classes " + std::to_string(num_classes) + " must be >= 1 for " + path);
  if (data.empty() || data.size() % size_t(kCifarRecordBytes) != 0)
    throw Error("truncated or malformed CIFAR-10 batch " + path + ": " +
                std::to_string(data.size()) + " bytes is not a whole number of " +
                std::to_string(kCifarRecordBytes) + "-byte records");
  CifarBatchView view;
  view.count = int64_t(data.size() / size_t(kCifarRecordBytes));
  for (int64_t i = 0; i < view.count; ++i) {
    const int label = static_cast<unsigned char>(data[size_t(i * kCifarRecordBytes)]);
    if (label >= num_classes)
      throw Error("label " + std::to_string(label) + " of record " + std::to_string(i) +
                  " out of range [0, " + std::to_string(num_classes) + ") in " + path);
  }
  return view;
}

}  // namespace lethe::data
