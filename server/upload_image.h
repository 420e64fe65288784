// Uploaded images are untrusted: the PNG header is checked against the model's item shape
// (width, height, gray vs colour) before anything is decoded, decoding runs with limits,
// and the result is hashed exactly as the engine hashes a training item: SHA-256 of the
// decoded 8-bit row-major pixels (for IDX data: the raw bytes of the image).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lethe {

struct ItemShape {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 gray, 3 RGB
};

struct PngHeader {
  int width = 0;
  int height = 0;
  int bit_depth = 0;
  int color_type = 0;  // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
};

// Reads the signature and IHDR chunk; INVALID_ARGUMENT (reason CORRUPT_IMAGE) otherwise.
absl::StatusOr<PngHeader> ReadPngHeader(std::string_view field, std::string_view png);

// Checks shape and decodes; returns the pixel hash (hex). INVALID_ARGUMENT with reason
// CORRUPT_IMAGE or IMAGE_SHAPE_MISMATCH naming `field`.
absl::StatusOr<std::string> HashUploadedImage(std::string_view field, const std::string& png,
                                              const ItemShape& shape);

}  // namespace lethe
