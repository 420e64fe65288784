#include "engine/data/idx_format.h"

#include <cstdio>

#include "engine/base/error.h"

namespace lethe::data {
namespace {

uint32_t BigEndian32(std::string_view s, size_t off) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + off;
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

IdxView ParseIdx(std::string_view data, int want_dims, const std::string& path) {
  if (want_dims < 1 || want_dims > 3) throw Error("unsupported IDX rank requested for " + path);
  if (data.size() < 4) throw Error("not an IDX file (too short): " + path);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (p[0] != 0 || p[1] != 0 || p[2] != 0x08 || p[3] != want_dims) {
    char magic[16];
    std::snprintf(magic, sizeof(magic), "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    char expected[16];
    std::snprintf(expected, sizeof(expected), "000008%02x", want_dims);
    throw Error("bad IDX magic 0x" + std::string(magic) + " (expected 0x" + expected + ") in " +
                path);
  }
  IdxView view;
  view.data_offset = 4 + 4 * size_t(want_dims);
  if (data.size() < view.data_offset) throw Error("truncated IDX header in " + path);
  uint64_t total = 1;
  for (int d = 0; d < want_dims; ++d) {
    const uint64_t size = BigEndian32(data, 4 + 4 * size_t(d));
    view.dims.push_back(int64_t(size));
    // total <= 2^40 and size < 2^32, so the product cannot overflow 64 bits.
    total *= size;
    if (total > kIdxMaxElements) throw Error("IDX dimensions too large in " + path);
  }
  if (want_dims == 3 && (view.dims[1] < 1 || view.dims[2] < 1 || view.dims[1] > kIdxMaxImageSide ||
                         view.dims[2] > kIdxMaxImageSide))
    throw Error("bad IDX image size " + std::to_string(view.dims[1]) + "x" +
                std::to_string(view.dims[2]) + " in " + path);
  const uint64_t expected = view.data_offset + total;
  if (data.size() != expected)
    throw Error(std::string(data.size() < expected ? "truncated" : "trailing data in") +
                " IDX file " + path + ": " + std::to_string(data.size()) + " bytes, header says " +
                std::to_string(expected));
  view.data_size = size_t(total);
  return view;
}

IdxPairView ParseIdxPair(std::string_view images, std::string_view labels, int num_classes,
                         const std::string& images_path, const std::string& labels_path) {
  if (num_classes < 1)
    throw Error("num_classes " + std::to_string(num_classes) + " must be >= 1 for " + labels_path);
  const IdxView iv = ParseIdx(images, 3, images_path);
  const IdxView lv = ParseIdx(labels, 1, labels_path);
  IdxPairView out;
  out.count = iv.dims[0];
  out.rows = iv.dims[1];
  out.cols = iv.dims[2];
  out.image_offset = iv.data_offset;
  out.label_offset = lv.data_offset;
  if (lv.dims[0] != out.count)
    throw Error("count mismatch: " + images_path + " has " + std::to_string(out.count) +
                " images but " + labels_path + " has " + std::to_string(lv.dims[0]) + " labels");
  const auto* lp = reinterpret_cast<const uint8_t*>(labels.data()) + lv.data_offset;
  for (int64_t i = 0; i < out.count; ++i)
    if (lp[i] >= num_classes)
      throw Error("label " + std::to_string(lp[i]) + " of item " + std::to_string(i) +
                  " out of range [0, " + std::to_string(num_classes) + ") in " + labels_path);
  return out;
}

}  // namespace lethe::data
