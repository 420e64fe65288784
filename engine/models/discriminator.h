// The conditional discriminator D(x, c) -> raw logit ("larger = more real"): StyleGAN2's
// residual architecture with a minibatch-stddev epilogue and projection conditioning
// (Miyato & Koyama 2018): score = psi(h) + <embed(c), h> / sqrt(dim h).
//
// Minibatch stddev makes a sample's score depend on the other samples in its group of
// `mbstd_group`; callers that compare scores across batches (AUC, membership inference)
// should score batches of the same size and composition policy.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/models/config.h"
#include "engine/models/layers.h"

namespace lethe::models {

// conv3x3 -> (2x downsample) conv3x3, plus a downsampled 1x1 skip; both halves carry
// sqrt(1/2) so the sum keeps unit variance.
class DiscriminatorBlockImpl : public torch::nn::Cloneable<DiscriminatorBlockImpl> {
 public:
  DiscriminatorBlockImpl(int64_t in_channels, int64_t out_channels);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  EqualConv2d conv0{nullptr}, conv1{nullptr}, skip{nullptr};

 private:
  int64_t in_channels_, out_channels_;
};
TORCH_MODULE(DiscriminatorBlock);

// Appends the average (over channels and pixels) standard deviation across each group of
// samples as one extra feature map.
torch::Tensor MinibatchStddev(const torch::Tensor& x, int64_t group_size);

class DiscriminatorImpl : public torch::nn::Cloneable<DiscriminatorImpl> {
 public:
  explicit DiscriminatorImpl(const ModelConfig& config);
  void reset() override;

  // x [N, img_channels, R, R], labels [N] int64 -> [N] raw logits.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels);

  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  EqualConv2d from_rgb_{nullptr};
  std::vector<DiscriminatorBlock> blocks_;
  EqualConv2d epilogue_conv_{nullptr};
  EqualLinear epilogue_fc_{nullptr};
  EqualLinear out_{nullptr};    // unconditional term psi(h)
  EqualLinear embed_{nullptr};  // one-hot class -> projection vector
};
TORCH_MODULE(Discriminator);

// A deep copy with its own weights (D0 for zero-shot unlearning's distillation term).
Discriminator CloneDiscriminator(const Discriminator& d, bool frozen = false);

}  // namespace lethe::models
