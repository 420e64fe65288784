// The byte layout of IDX files (the MNIST family), checked without LibTorch so the checks
// can be fuzzed and reused: a big-endian header "00 00 08 <ndims>", ndims 32-bit sizes,
// then exactly prod(sizes) unsigned bytes. Every offset a loader later reads is proven in
// bounds here; anything else is refused with a message naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lethe::data {

inline constexpr int kIdxMaxImageSide = 4096;
// Payloads larger than this (1 TiB) are refused before any size arithmetic can overflow.
inline constexpr uint64_t kIdxMaxElements = uint64_t(1) << 40;

struct IdxView {
  std::vector<int64_t> dims;  // sizes as declared in the header
  size_t data_offset = 0;     // first payload byte (4 + 4 * ndims)
  size_t data_size = 0;       // payload bytes, == prod(dims)
};

// Parses an unsigned-byte IDX file with `want_dims` dimensions (3 = images, 1 = labels).
// For images, rows and columns must be in [1, kIdxMaxImageSide]. The buffer length must
// match the header exactly (truncated and trailing data are both errors).
// Throws lethe::Error naming `path`.
IdxView ParseIdx(std::string_view data, int want_dims, const std::string& path);

// An image file and its label file, checked against each other.
struct IdxPairView {
  int64_t count = 0;  // items
  int64_t rows = 0;
  int64_t cols = 0;
  size_t image_offset = 0;  // first pixel byte in the image buffer
  size_t label_offset = 0;  // first label byte in the label buffer
};

// ParseIdx on both files, then: equal item counts and every label in [0, num_classes).
IdxPairView ParseIdxPair(std::string_view images, std::string_view labels, int num_classes,
                         const std::string& images_path, const std::string& labels_path);

}  // namespace lethe::data
