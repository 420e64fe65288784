// The conditional StyleGAN2-style generator G = S ∘ M. Unlearning works in its W space:
// inversion optimises w, substitutes are built from the per-class mean w̄_c, so mapping
// (Map) and synthesis (Synthesize) are separate entry points, and one w drives every
// layer (W, not W+).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/models/config.h"
#include "engine/models/layers.h"

namespace lethe::models {

// One resolution of the synthesis network: (2x upsample +) two modulated convs and a
// ToRGB whose output is added to the upsampled image of the previous block (skip arch).
class SynthesisBlockImpl : public torch::nn::Cloneable<SynthesisBlockImpl> {
 public:
  // in_channels == 0 makes the first (4x4) block, which starts from a learned constant.
  SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                     int64_t img_channels);
  void reset() override;
  // x, img: the previous block's features and image (ignored by the first block).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& img,
                                                  const torch::Tensor& w, NoiseMode noise);

  torch::Tensor const_input;      // [out, 4, 4] (first block only)
  SynthesisLayer conv0{nullptr};  // upsampling layer (not in the first block)
  SynthesisLayer conv1{nullptr};
  ToRgb torgb{nullptr};

 private:
  int64_t in_channels_, out_channels_, w_dim_, resolution_, img_channels_;
};
TORCH_MODULE(SynthesisBlock);

class GeneratorImpl : public torch::nn::Cloneable<GeneratorImpl> {
 public:
  explicit GeneratorImpl(const ModelConfig& config);
  void reset() override;

  // z [N, z_dim] float, labels [N] int64 -> w [N, w_dim]. truncation_psi < 1 pulls w
  // towards the class mean (w_class_avg, once computed; else the global w_avg).
  torch::Tensor Map(const torch::Tensor& z, const torch::Tensor& labels,
                    double truncation_psi = 1.0);
  // w [N, w_dim] -> images [N, img_channels, R, R], roughly in [-1, 1].
  torch::Tensor Synthesize(const torch::Tensor& w, NoiseMode noise = NoiseMode::kRandom);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels,
                        NoiseMode noise = NoiseMode::kRandom);

  // w_avg <- beta * w_avg + (1 - beta) * mean(w) (no gradient). Training calls it with the
  // batch's mapped codes.
  void UpdateWAvg(const torch::Tensor& w, double beta);
  // Fills w_class_avg with the mean of Map(z, c) over `samples_per_class` z per class,
  // drawn from a private generator seeded with `seed` (the global RNG is untouched).
  void ComputeClassMeans(int64_t samples_per_class, uint64_t seed);
  bool HasClassMeans() const { return ClassMeanSamples() > 0; }
  int64_t ClassMeanSamples() const;  // samples per class behind w_class_avg; 0 = not computed

  const torch::Tensor& w_avg() const { return w_avg_; }
  const torch::Tensor& w_class_avg() const { return w_class_avg_; }
  const ModelConfig& config() const { return config_; }
  // Every parameter of the mapping network (for optimisers that treat it separately).
  std::vector<torch::Tensor> MappingParameters() const;

 private:
  ModelConfig config_;
  EqualLinear embed_{nullptr};  // one-hot class -> embed_dim
  std::vector<EqualLinear> mapping_;
  std::vector<SynthesisBlock> blocks_;
  torch::Tensor w_avg_;               // buffer [w_dim]
  torch::Tensor w_class_avg_;         // buffer [num_classes, w_dim]
  torch::Tensor class_mean_samples_;  // buffer int64 scalar; 0 until ComputeClassMeans
};
TORCH_MODULE(Generator);

// A deep copy with its own weights and buffers (G0 for zero-shot unlearning, the EMA).
// frozen = true turns off requires_grad on every parameter of the copy.
Generator CloneGenerator(const Generator& g, bool frozen = false);

}  // namespace lethe::models
