// The content hash of a data set item, defined once for the engine (which hashes what it
// loads) and the server (which hashes an uploaded PNG to find the item it shows). Torch-free
// and header-only so the server can use it with lethe_base alone.
#pragma once

#include <string>

#include "engine/base/png.h"
#include "engine/base/sha256.h"

namespace lethe::data {

// SHA-256 hex of the 8-bit pixels, row-major, channels interleaved; see dataset.h.
inline std::string ContentHash(const uint8_t* hwc_pixels, size_t size) {
  return Sha256Hex(hwc_pixels, size);
}
inline std::string ContentHash(const Image8& image) {
  return ContentHash(image.pixels.data(), image.pixels.size());
}

}  // namespace lethe::data
