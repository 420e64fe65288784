// Fuzzes PNG decoding of untrusted uploads: the server's header pre-check, then DecodePng
// with the default and with tight limits, to gray and to RGB. Nothing may crash, a
// success must return exactly width * height * channels pixels within the limits, and a
// failure must say why.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/base/png.h"
#include "server/upload_image.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void DecodeAndCheck(const std::string& bytes, int channels, const lethe::PngLimits& limits) {
  lethe::Image8 image;
  std::string error;
  if (!lethe::DecodePng(bytes, channels, limits, &image, &error)) {
    Check(!error.empty());
    return;
  }
  Check(image.channels == channels);
  Check(image.width >= 1 && image.width <= limits.max_width);
  Check(image.height >= 1 && image.height <= limits.max_height);
  Check(int64_t(image.width) * image.height <= limits.max_pixels);
  Check(image.pixels.size() == size_t(image.width) * size_t(image.height) * size_t(channels));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto header = lethe::ReadPngHeader("fuzz.png", bytes);
  if (header.ok()) Check(header->width > 0 && header->height > 0);
  // The limits the server uses, and tight ones so the limit paths are reached too.
  DecodeAndCheck(bytes, 1, lethe::PngLimits{});
  DecodeAndCheck(bytes, 3, lethe::PngLimits{});
  DecodeAndCheck(bytes, 1, lethe::PngLimits{64, 64, 1024});
  auto hash = lethe::HashUploadedImage("fuzz.png", bytes, lethe::ItemShape{28, 28, 1});
  (void)hash;
  return 0;
}
