#include "server/upload_image.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

absl::Status Corrupt(std::string_view field, const std::string& why) {
  return MakeError(absl::StatusCode::kInvalidArgument, "CORRUPT_IMAGE",
                   absl::StrCat(std::string(field), ": not a valid PNG: ", why),
                   {{"field", std::string(field)}});
}

}  // namespace

absl::StatusOr<PngHeader> ReadPngHeader(std::string_view field, std::string_view png) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (png.size() < 33) return Corrupt(field, absl::StrCat("only ", png.size(), " bytes"));
  const auto* p = reinterpret_cast<const unsigned char*>(png.data());
  for (int i = 0; i < 8; ++i) {
    if (p[i] != kSignature[i]) return Corrupt(field, "missing PNG signature");
  }
  if (BigEndian32(p + 8) != 13 || std::string_view(png.data() + 12, 4) != "IHDR") {
    return Corrupt(field, "first chunk is not a 13-byte IHDR");
  }
  PngHeader h;
  uint32_t w = BigEndian32(p + 16), hgt = BigEndian32(p + 20);
  if (w == 0 || hgt == 0 || w > 1u << 20 || hgt > 1u << 20) {
    return Corrupt(field, absl::StrCat("implausible dimensions ", w, "x", hgt));
  }
  h.width = int(w);
  h.height = int(hgt);
  h.bit_depth = p[24];
  h.color_type = p[25];
  if (h.color_type != 0 && h.color_type != 2 && h.color_type != 3 && h.color_type != 4 &&
      h.color_type != 6) {
    return Corrupt(field, absl::StrCat("unknown color type ", h.color_type));
  }
  return h;
}

absl::StatusOr<std::string> HashUploadedImage(std::string_view field, const std::string& png,
                                              const ItemShape& shape) {
  auto header = ReadPngHeader(field, png);
  if (!header.ok()) return header.status();
  auto mismatch = [&](const std::string& why) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, "IMAGE_SHAPE_MISMATCH",
        absl::StrCat(std::string(field), ": ", why),
        {{"field", std::string(field)},
         {"expected", absl::StrCat(shape.width, "x", shape.height, "x", shape.channels)}});
  };
  if (header->width != shape.width || header->height != shape.height) {
    return mismatch(absl::StrCat("image is ", header->width, "x", header->height,
                                 "; this model's training items are ", shape.width, "x",
                                 shape.height));
  }
  bool gray = header->color_type == 0 || header->color_type == 4;
  bool color = header->color_type == 2 || header->color_type == 6;
  if (shape.channels == 1 && color) {
    return mismatch("image is in colour; this model's training items are grayscale");
  }
  if (shape.channels == 3 && gray) {
    return mismatch("image is grayscale; this model's training items are in colour");
  }
  PngLimits limits;
  limits.max_width = shape.width;
  limits.max_height = shape.height;
  limits.max_pixels = int64_t(shape.width) * shape.height;
  Image8 image;
  std::string error;
  if (!DecodePng(png, shape.channels, limits, &image, &error)) return Corrupt(field, error);
  if (image.width != shape.width || image.height != shape.height ||
      image.channels != shape.channels) {
    return mismatch("decoded image does not match the model's item shape");
  }
  return Sha256Hex(image.pixels.data(), image.pixels.size());
}

}  // namespace lethe
