// StyleGAN2's building blocks with equalised learning rate: every weight is stored with
// unit variance and scaled by its fan-in at run time, so Adam's per-parameter step size
// treats all layers alike. Activation gains are folded into the weights where possible
// so that a layer costs one convolution plus one in-place pass over its output.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace lethe::models {

// How synthesis layers get their per-pixel noise: fresh random noise (training,
// sampling), the fixed per-layer noise stored in the model (reproducible images, GAN
// inversion) or none.
enum class NoiseMode { kRandom, kConst, kNone };

// Leaky-ReLU slope and the gain that keeps its output's second moment near 1.
inline constexpr double kLreluSlope = 0.2;
inline constexpr double kLreluGain = 1.4142135623730951;  // sqrt(2)

// Feature maps are kept channels-last (NHWC): oneDNN's convolutions, LibTorch's
// upsampling and pooling kernels are 2-5x faster on CPU in that layout than in NCHW
// (measured in bench/engine_train_bench.cc). Elementwise ops preserve the layout, so
// converting a network's input is enough; this is a no-op on NHWC tensors.
torch::Tensor ToChannelsLast(const torch::Tensor& x);

// Divides each row of x by its root mean square (StyleGAN's normalize_2nd_moment).
torch::Tensor NormalizeSecondMoment(const torch::Tensor& x, double eps = 1e-8);

// 2x nearest-free upsampling: bilinear with half-pixel centres, i.e. the separable
// [1,3,3,1]/4 filter StyleGAN2 uses (edges replicate instead of zero-padding).
torch::Tensor Upsample2x(const torch::Tensor& x);
// 2x2 average pooling (the matching box-filter downsampling).
torch::Tensor Downsample2x(const torch::Tensor& x);

// Modulated convolution of x [N, I, H, W] with weight [O, I, k, k] and per-sample input
// styles [N, I]; demodulation rescales each output channel to unit expected norm.
// fused = false: scale x, one ordinary batched conv, scale the output (StyleGAN2's
//   training path; the weight gradient is one [O, I, k, k] tensor).
// fused = true: build per-sample weights [N*O, I, k, k] and run one grouped conv.
// Both compute the same function; on CPU the unfused form is the faster one
// (bench/engine_train_bench.cc, BM_ModulatedConv), so the synthesis layers use it.
torch::Tensor ModulatedConv2d(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& styles, bool demodulate, bool fused);
// The [N, O] demodulation factors 1 / ||weight * styles|| of the unfused form.
torch::Tensor DemodulationCoefficients(const torch::Tensor& weight, const torch::Tensor& styles);

// Equalised-lr fully connected layer; optional sqrt(2)-gained leaky ReLU.
class EqualLinearImpl : public torch::nn::Cloneable<EqualLinearImpl> {
 public:
  EqualLinearImpl(int64_t in_features, int64_t out_features, double bias_init = 0.0,
                  double lr_mult = 1.0, bool activate = false);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  // [out, in], N(0, 1) / lr_mult
  torch::Tensor bias;    // [out]

 private:
  int64_t in_features_, out_features_;
  double bias_init_, lr_mult_;
  bool activate_;
};
TORCH_MODULE(EqualLinear);

// Equalised-lr convolution (stride 1, "same" padding); optional bias and activation.
// out_gain scales the output (folded into weight and bias), e.g. sqrt(1/2) in residual
// blocks.
class EqualConv2dImpl : public torch::nn::Cloneable<EqualConv2dImpl> {
 public:
  EqualConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, bool bias = true,
                  bool activate = false, double out_gain = 1.0);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  // [out, in, k, k]
  torch::Tensor bias;    // [out] or undefined

 private:
  int64_t in_channels_, out_channels_, kernel_;
  bool has_bias_, activate_;
  double out_gain_;
};
TORCH_MODULE(EqualConv2d);

// One synthesis layer: style affine, (optional 2x upsampling), modulated 3x3 conv with
// demodulation, noise injection, bias, leaky ReLU.
class SynthesisLayerImpl : public torch::nn::Cloneable<SynthesisLayerImpl> {
 public:
  SynthesisLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                     bool upsample);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise);

  EqualLinear affine{nullptr};   // w -> input styles, bias initialised to 1
  torch::Tensor weight;          // [out, in, 3, 3], N(0, 1); demodulation makes it scale-free
  torch::Tensor bias;            // [out]
  torch::Tensor noise_strength;  // scalar, starts at 0
  torch::Tensor noise_const;     // buffer [1, 1, R, R]

 private:
  int64_t in_channels_, out_channels_, w_dim_, resolution_;
  bool upsample_;
};
TORCH_MODULE(SynthesisLayer);

// Modulated 1x1 conv to image channels without demodulation (StyleGAN2's ToRGB).
class ToRgbImpl : public torch::nn::Cloneable<ToRgbImpl> {
 public:
  ToRgbImpl(int64_t in_channels, int64_t img_channels, int64_t w_dim);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);

  EqualLinear affine{nullptr};
  torch::Tensor weight;  // [img_channels, in, 1, 1]
  torch::Tensor bias;    // [img_channels]

 private:
  int64_t in_channels_, img_channels_, w_dim_;
};
TORCH_MODULE(ToRgb);

}  // namespace lethe::models
