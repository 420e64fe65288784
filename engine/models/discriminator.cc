#include "engine/models/discriminator.h"

#include <cmath>
#include <string>

#include "engine/base/error.h"

namespace lethe::models {

namespace {
constexpr double kSqrtHalf = 0.7071067811865476;
}  // namespace

DiscriminatorBlockImpl::DiscriminatorBlockImpl(int64_t in_channels, int64_t out_channels)
    : in_channels_(in_channels), out_channels_(out_channels) {
  reset();
}

void DiscriminatorBlockImpl::reset() {
  conv0 = register_module("conv0", EqualConv2d(in_channels_, in_channels_, 3, true, true));
  conv1 =
      register_module("conv1", EqualConv2d(in_channels_, out_channels_, 3, true, true, kSqrtHalf));
  skip =
      register_module("skip", EqualConv2d(in_channels_, out_channels_, 1, false, false, kSqrtHalf));
}

torch::Tensor DiscriminatorBlockImpl::forward(const torch::Tensor& x) {
  // Pool first, then convolve at the lower resolution (the cost of a stride-2 conv).
  torch::Tensor y = skip(Downsample2x(x));
  return conv1(Downsample2x(conv0(x))) + y;
}

torch::Tensor MinibatchStddev(const torch::Tensor& x, int64_t group_size) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  int64_t g = std::max<int64_t>(1, std::min(group_size, n));
  while (n % g != 0) --g;
  torch::Tensor y = x.reshape({g, n / g, c, h, w});
  y = (y - y.mean(0)).square().mean(0);               // [N/G, C, H, W] variance over group
  y = (y + 1e-8).sqrt().mean({1, 2, 3});              // [N/G]
  y = y.view({n / g, 1, 1, 1}).repeat({g, 1, h, w});  // [N, 1, H, W]
  return torch::cat({x, y}, 1);
}

DiscriminatorImpl::DiscriminatorImpl(const ModelConfig& config) : config_(config) {
  config_.Validate();
  reset();
}

void DiscriminatorImpl::reset() {
  const ModelConfig& c = config_;
  from_rgb_ = register_module(
      "from_rgb", EqualConv2d(c.img_channels, c.ChannelsAt(c.resolution), 1, true, true));
  blocks_.clear();
  for (int res = c.resolution; res > 4; res /= 2) {
    blocks_.push_back(register_module(
        "b" + std::to_string(res), DiscriminatorBlock(c.ChannelsAt(res), c.ChannelsAt(res / 2))));
  }
  const int c4 = c.ChannelsAt(4);
  epilogue_conv_ = register_module("epilogue_conv", EqualConv2d(c4 + 1, c4, 3, true, true));
  epilogue_fc_ =
      register_module("epilogue_fc", EqualLinear(c4 * 16, c4, 0.0, 1.0, /*activate=*/true));
  out_ = register_module("out", EqualLinear(c4, 1));
  embed_ = register_module("embed", EqualLinear(c.num_classes, c4));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  const ModelConfig& c = config_;
  if (x.dim() != 4 || x.size(1) != c.img_channels || x.size(2) != c.resolution ||
      x.size(3) != c.resolution)
    throw Error("Discriminator: images must be [N, " + std::to_string(c.img_channels) + ", " +
                std::to_string(c.resolution) + ", " + std::to_string(c.resolution) + "]");
  if (labels.dim() != 1 || labels.size(0) != x.size(0) || labels.scalar_type() != torch::kInt64)
    throw Error("Discriminator: labels must be int64 [N] matching the images");
  torch::Tensor h = from_rgb_(ToChannelsLast(x));
  for (auto& block : blocks_) h = block(h);
  h = epilogue_conv_(MinibatchStddev(h, c.mbstd_group));
  h = epilogue_fc_(h.flatten(1));  // [N, C4]
  torch::Tensor cmap = embed_(torch::one_hot(labels, c.num_classes).to(h.scalar_type()));
  const double scale = 1.0 / std::sqrt(double(h.size(1)));
  return out_(h).squeeze(1) + (h * cmap).sum(1) * scale;
}

Discriminator CloneDiscriminator(const Discriminator& d, bool frozen) {
  Discriminator copy(std::dynamic_pointer_cast<DiscriminatorImpl>(d->clone()));
  if (frozen)
    for (auto& p : copy->parameters()) p.requires_grad_(false);
  return copy;
}

}  // namespace lethe::models
