// The byte layout of a CIFAR-10 binary batch, checked without LibTorch so the checks can
// be fuzzed and reused: a whole number of records, each one label byte then 3072 pixel
// bytes (1024 R, 1024 G, 1024 B planes of a 32x32 image, row-major). Errors name the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lethe::data {

inline constexpr int64_t kCifarSide = 32;
inline constexpr int64_t kCifarRecordBytes = 1 + 3 * kCifarSide * kCifarSide;
inline constexpr int kCifarClasses = 10;

struct CifarBatchView {
  int64_t count = 0;  // records; record i starts at byte i * kCifarRecordBytes
};

// Refuses an empty or partial batch and any label outside [0, num_classes).
// Throws lethe::Error naming `path`.
CifarBatchView ParseCifarBatch(std::string_view data, int num_classes, const std::string& path);

}  // namespace lethe::data
