// SHA-256 (FIPS 180-4). Used for item content hashes, data set fingerprints, checkpoint
// file hashes, the audit chain and token hashes: one implementation for all of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lethe {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::array<uint8_t, 32> Finish();
  std::string FinishHex();

 private:
  void Compress(const uint8_t block[64]);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string Sha256Hex(const void* data, size_t size);
std::string Sha256Hex(std::string_view s);
// Hashes a whole file; throws lethe::Error naming the file if it cannot be read.
std::string Sha256FileHex(const std::string& path);
std::string ToHex(const uint8_t* data, size_t size);

}  // namespace lethe
