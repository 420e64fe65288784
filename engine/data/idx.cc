// IDX files (the MNIST family): big-endian header "00 00 <type> <ndims>", ndims 32-bit
// sizes, then the data. Images must be ubyte with 3 dims, labels ubyte with 1 dim.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/dataset.h"
#include "engine/data/image_convert.h"

namespace lethe::data {
namespace {

constexpr int kIdxDefaultClasses = 10;

uint32_t BigEndian32(const std::string& s, size_t off) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + off;
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Parses the header, checks the magic and that the data length matches it exactly.
std::vector<int64_t> ParseIdxHeader(const std::string& data, int want_dims,
                                    const std::string& path) {
  if (data.size() < 4) throw Error("not an IDX file (too short): " + path);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (p[0] != 0 || p[1] != 0 || p[2] != 0x08 || p[3] != want_dims) {
    char magic[16];
    std::snprintf(magic, sizeof(magic), "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    throw Error("bad IDX magic 0x" + std::string(magic) + " (expected 0x000008" +
                (want_dims == 3 ? "03" : "01") + ") in " + path);
  }
  const size_t header = 4 + 4 * size_t(want_dims);
  if (data.size() < header) throw Error("truncated IDX header in " + path);
  std::vector<int64_t> dims;
  uint64_t total = 1;
  for (int d = 0; d < want_dims; ++d) {
    dims.push_back(int64_t(BigEndian32(data, 4 + 4 * size_t(d))));
    total *= uint64_t(dims.back());
    if (total > (uint64_t(1) << 40)) throw Error("IDX dimensions too large in " + path);
  }
  if (want_dims == 3 && (dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 || dims[2] > 4096))
    throw Error("bad IDX image size " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                " in " + path);
  const uint64_t expected = header + total;
  if (data.size() != expected)
    throw Error(std::string(data.size() < expected ? "truncated" : "trailing data in") +
                " IDX file " + path + ": " + std::to_string(data.size()) + " bytes, header says " +
                std::to_string(expected));
  return dims;
}

}  // namespace

Dataset LoadIdx(const std::string& images_path, const std::string& labels_path,
                const std::string& id_prefix, const LoadOptions& options) {
  ValidateLoadOptions(options);
  // Raw bytes must outlive the from_blob views below.
  std::string image_bytes = ReadMaybeGzip(images_path);
  std::string label_bytes = ReadMaybeGzip(labels_path);
  std::vector<int64_t> idims = ParseIdxHeader(image_bytes, 3, images_path);
  std::vector<int64_t> ldims = ParseIdxHeader(label_bytes, 1, labels_path);
  const int64_t n = idims[0];
  if (ldims[0] != n)
    throw Error("count mismatch: " + images_path + " has " + std::to_string(n) + " images but " +
                labels_path + " has " + std::to_string(ldims[0]) + " labels");
  const int num_classes = options.num_classes > 0 ? options.num_classes : kIdxDefaultClasses;
  const auto* lp = reinterpret_cast<const uint8_t*>(label_bytes.data()) + 8;
  for (int64_t i = 0; i < n; ++i)
    if (lp[i] >= num_classes)
      throw Error("label " + std::to_string(lp[i]) + " of item " + std::to_string(i) +
                  " out of range [0, " + std::to_string(num_classes) + ") in " + labels_path);

  auto id_of = [&](int64_t i) { return id_prefix + "/" + std::to_string(i); };
  std::vector<int64_t> kept = SelectItems(n, id_of, options);
  std::vector<std::string> ids;
  ids.reserve(kept.size());
  for (int64_t i : kept) ids.push_back(id_of(i));

  torch::Tensor pixels =
      torch::from_blob(image_bytes.data() + 16, {n, idims[1], idims[2], 1}, torch::kUInt8);
  torch::Tensor labels = torch::from_blob(label_bytes.data() + 8, {n}, torch::kUInt8);
  return BuildDataset(id_prefix, pixels, labels, kept, std::move(ids), num_classes,
                      options.resolution);
}

}  // namespace lethe::data
