#include "engine/models/layers.h"

#include <cmath>

namespace lethe::models {

namespace F = torch::nn::functional;

torch::Tensor ToChannelsLast(const torch::Tensor& x) {
  return x.contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor NormalizeSecondMoment(const torch::Tensor& x, double eps) {
  return x * (x.square().mean(1, /*keepdim=*/true) + eps).rsqrt();
}

torch::Tensor Upsample2x(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{x.size(2) * 2, x.size(3) * 2})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

torch::Tensor Downsample2x(const torch::Tensor& x) { return torch::avg_pool2d(x, {2, 2}); }

torch::Tensor DemodulationCoefficients(const torch::Tensor& weight, const torch::Tensor& styles) {
  // ||W[o,:,:,:] * s[n,:]||^2 = sum_i s[n,i]^2 * sum_k W[o,i,k]^2: one small matmul instead
  // of materialising the [N, O, I, k, k] modulated weights.
  torch::Tensor wsq = weight.square().sum({2, 3});  // [O, I]
  return (styles.square().mm(wsq.t()) + 1e-8).rsqrt();
}

torch::Tensor ModulatedConv2d(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& styles, bool demodulate, bool fused) {
  const int64_t n = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t out = weight.size(0), k = weight.size(2);
  if (!fused) {
    torch::Tensor y = torch::conv2d(ToChannelsLast(x * styles.view({n, in, 1, 1})), weight, {},
                                    {1, 1}, {k / 2, k / 2});
    if (demodulate) y = y * DemodulationCoefficients(weight, styles).view({n, out, 1, 1});
    return y;
  }
  torch::Tensor wm = weight.unsqueeze(0) * styles.view({n, 1, in, 1, 1});  // [N, O, I, k, k]
  if (demodulate) wm = wm * (wm.square().sum({2, 3, 4}, /*keepdim=*/true) + 1e-8).rsqrt();
  torch::Tensor y = torch::conv2d(x.reshape({1, n * in, h, w}), wm.reshape({n * out, in, k, k}), {},
                                  {1, 1}, {k / 2, k / 2}, {1, 1}, n);
  return y.reshape({n, out, h, w});
}

// --- EqualLinear ---------------------------------------------------------------------------

EqualLinearImpl::EqualLinearImpl(int64_t in_features, int64_t out_features, double bias_init,
                                 double lr_mult, bool activate)
    : in_features_(in_features),
      out_features_(out_features),
      bias_init_(bias_init),
      lr_mult_(lr_mult),
      activate_(activate) {
  reset();
}

void EqualLinearImpl::reset() {
  weight = register_parameter("weight", torch::randn({out_features_, in_features_}) / lr_mult_);
  bias = register_parameter("bias", torch::full({out_features_}, bias_init_ / lr_mult_));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) {
  // lrelu(a) * g == lrelu(a * g) for g > 0, so the activation gain rides on the weights.
  const double gain = activate_ ? kLreluGain : 1.0;
  const double w_scale = gain * lr_mult_ / std::sqrt(double(in_features_));
  torch::Tensor y = torch::addmm(bias * (gain * lr_mult_), x, (weight * w_scale).t());
  if (activate_) torch::leaky_relu_(y, kLreluSlope);
  return y;
}

// --- EqualConv2d ---------------------------------------------------------------------------

EqualConv2dImpl::EqualConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                 bool bias, bool activate, double out_gain)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      has_bias_(bias),
      activate_(activate),
      out_gain_(out_gain) {
  reset();
}

void EqualConv2dImpl::reset() {
  weight =
      register_parameter("weight", torch::randn({out_channels_, in_channels_, kernel_, kernel_}));
  if (has_bias_) bias = register_parameter("bias", torch::zeros({out_channels_}));
}

torch::Tensor EqualConv2dImpl::forward(const torch::Tensor& x) {
  const double gain = out_gain_ * (activate_ ? kLreluGain : 1.0);
  const double w_scale = gain / std::sqrt(double(in_channels_ * kernel_ * kernel_));
  torch::Tensor b = has_bias_ ? bias * gain : torch::Tensor();
  torch::Tensor y = torch::conv2d(x, weight * w_scale, b, {1, 1}, {kernel_ / 2, kernel_ / 2});
  if (activate_) torch::leaky_relu_(y, kLreluSlope);
  return y;
}

// --- SynthesisLayer ------------------------------------------------------------------------

SynthesisLayerImpl::SynthesisLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim,
                                       int64_t resolution, bool upsample)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      w_dim_(w_dim),
      resolution_(resolution),
      upsample_(upsample) {
  reset();
}

void SynthesisLayerImpl::reset() {
  affine = register_module("affine", EqualLinear(w_dim_, in_channels_, /*bias_init=*/1.0));
  weight = register_parameter("weight", torch::randn({out_channels_, in_channels_, 3, 3}));
  bias = register_parameter("bias", torch::zeros({out_channels_}));
  noise_strength = register_parameter("noise_strength", torch::zeros({}));
  noise_const = register_buffer("noise_const", torch::randn({1, 1, resolution_, resolution_}));
}

torch::Tensor SynthesisLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w,
                                          NoiseMode noise) {
  const int64_t n = x.size(0);
  torch::Tensor styles = affine(w);  // [N, I]
  // Styles scale whole channels, so applying them before upsampling is exact and 4x cheaper.
  torch::Tensor xs = ToChannelsLast(x * styles.view({n, in_channels_, 1, 1}));
  if (upsample_) xs = Upsample2x(xs);
  torch::Tensor y = torch::conv2d(xs, weight, {}, {1, 1}, {1, 1});
  // out = lrelu(y * demod + noise + bias) * sqrt(2), with the gain folded into each term.
  torch::Tensor demod = DemodulationCoefficients(weight, styles) * kLreluGain;
  torch::Tensor out = torch::addcmul((bias * kLreluGain).view({1, out_channels_, 1, 1}), y,
                                     demod.view({n, out_channels_, 1, 1}));
  if (noise == NoiseMode::kRandom) {
    out.add_(torch::randn({n, 1, resolution_, resolution_}, out.options()) *
             (noise_strength * kLreluGain));
  } else if (noise == NoiseMode::kConst) {
    out.add_(noise_const * (noise_strength * kLreluGain));
  }
  torch::leaky_relu_(out, kLreluSlope);
  return out;
}

// --- ToRgb ---------------------------------------------------------------------------------

ToRgbImpl::ToRgbImpl(int64_t in_channels, int64_t img_channels, int64_t w_dim)
    : in_channels_(in_channels), img_channels_(img_channels), w_dim_(w_dim) {
  reset();
}

void ToRgbImpl::reset() {
  affine = register_module("affine", EqualLinear(w_dim_, in_channels_, /*bias_init=*/1.0));
  weight = register_parameter("weight", torch::randn({img_channels_, in_channels_, 1, 1}));
  bias = register_parameter("bias", torch::zeros({img_channels_}));
}

torch::Tensor ToRgbImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t n = x.size(0);
  torch::Tensor styles = affine(w) * (1.0 / std::sqrt(double(in_channels_)));
  return torch::conv2d(x * styles.view({n, in_channels_, 1, 1}), weight, bias);
}

}  // namespace lethe::models
