#include "engine/data/image_convert.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <utility>

#include "engine/base/error.h"
#include "engine/data/content_hash.h"

namespace lethe::data {

torch::Tensor ToModelImages(const torch::Tensor& nhwc_uint8, int resolution) {
  if (nhwc_uint8.dim() != 4 || nhwc_uint8.scalar_type() != torch::kUInt8)
    throw Error("ToModelImages expects [N, H, W, C] uint8 pixels");
  const int64_t h = nhwc_uint8.size(1), w = nhwc_uint8.size(2);
  torch::Tensor x = nhwc_uint8.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(127.5).sub_(1.0);
  if (h <= resolution && w <= resolution) {
    if (h == resolution && w == resolution) return x.contiguous();
    const int64_t left = (resolution - w) / 2, top = (resolution - h) / 2;
    return torch::constant_pad_nd(x, {left, resolution - w - left, top, resolution - h - top}, -1.0)
        .contiguous();
  }
  namespace F = torch::nn::functional;
  torch::Tensor y =
      F::interpolate(x.contiguous(), F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{resolution, resolution})
                                         .mode(torch::kBilinear)
                                         .align_corners(false)
                                         .antialias(true));
  return y.clamp_(-1.0, 1.0).contiguous();
}

void ValidateLoadOptions(const LoadOptions& options) {
  if (options.resolution < 4 || options.resolution > 1024)
    throw Error("resolution must be in [4, 1024], got " + std::to_string(options.resolution));
  if (options.limit < -1) throw Error("limit must be -1 (all) or >= 0");
  if (options.head < -1) throw Error("head must be -1 (all) or >= 0");
  if (options.num_classes < 0) throw Error("num_classes must be >= 0");
  if (options.channels != 0 && options.channels != 1 && options.channels != 3)
    throw Error("channels must be 0 (auto), 1 or 3");
}

std::vector<int64_t> SelectItems(int64_t count, const std::function<std::string(int64_t)>& id_of,
                                 const LoadOptions& options) {
  std::vector<int64_t> kept;
  kept.reserve(size_t(options.limit >= 0 ? std::min(options.limit, count) : count));
  const int64_t end = options.head >= 0 ? std::min(options.head, count) : count;
  for (int64_t i = 0; i < end; ++i) {
    if (options.limit >= 0 && int64_t(kept.size()) >= options.limit) break;
    if (!options.exclude.empty() && options.exclude.count(id_of(i))) continue;
    kept.push_back(i);
  }
  return kept;
}

Dataset BuildDataset(std::string name, const torch::Tensor& pixels, const torch::Tensor& labels,
                     const std::vector<int64_t>& kept, std::vector<std::string> ids,
                     int num_classes, int resolution) {
  Dataset d;
  d.name = std::move(name);
  d.num_classes = num_classes;
  d.ids = std::move(ids);
  const int64_t h = pixels.size(1), w = pixels.size(2), c = pixels.size(3);
  torch::Tensor idx = torch::tensor(kept, torch::kInt64);
  torch::Tensor sel = kept.empty() ? torch::empty({0, h, w, c}, torch::kUInt8)
                                   : pixels.index_select(0, idx).contiguous();
  d.labels = kept.empty() ? torch::empty({0}, torch::kInt64)
                          : labels.index_select(0, idx).to(torch::kInt64).contiguous();
  const size_t item_bytes = size_t(h * w * c);
  const uint8_t* p = sel.data_ptr<uint8_t>();
  d.hashes.resize(kept.size());
  at::parallel_for(0, int64_t(kept.size()), 512, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      d.hashes[size_t(i)] = ContentHash(p + size_t(i) * item_bytes, item_bytes);
  });
  d.images = ToModelImages(sel, resolution);
  return d;
}

}  // namespace lethe::data
