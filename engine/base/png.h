// 8-bit PNG encode/decode (libpng). Decoding is defensive: the server feeds it untrusted
// uploads, so dimensions and sizes are checked against limits *before* pixels are
// allocated, and every libpng error becomes a message instead of a longjmp crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lethe {

// Row-major, interleaved channels (1 = gray, 3 = RGB), 8 bits each.
struct Image8 {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

struct PngLimits {
  int max_width = 4096;
  int max_height = 4096;
  int64_t max_pixels = 16 * 1024 * 1024;
};

// True when this build has libpng (it is optional for engine-only GPU builds).
bool PngSupported();

// Encodes gray or RGB; throws lethe::Error on failure.
std::string EncodePng(const Image8& image);
void WritePngFile(const std::string& path, const Image8& image);

// Decodes any PNG into 8-bit gray (channels_out = 1) or RGB (channels_out = 3): palette,
// 16-bit, alpha and grayscale+alpha inputs are converted. Returns false and sets *error on
// corrupt data, unsupported input or limits exceeded.
bool DecodePng(const std::string& data, int channels_out, const PngLimits& limits, Image8* out,
               std::string* error);

}  // namespace lethe
