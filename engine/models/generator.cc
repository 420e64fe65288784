#include "engine/models/generator.h"

#include <string>

#include "engine/base/error.h"

namespace lethe::models {

// --- SynthesisBlock ------------------------------------------------------------------------

SynthesisBlockImpl::SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim,
                                       int64_t resolution, int64_t img_channels)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      w_dim_(w_dim),
      resolution_(resolution),
      img_channels_(img_channels) {
  reset();
}

void SynthesisBlockImpl::reset() {
  if (in_channels_ == 0) {
    const_input = register_parameter("const", torch::randn({out_channels_, 4, 4}));
  } else {
    conv0 = register_module("conv0", SynthesisLayer(in_channels_, out_channels_, w_dim_,
                                                    resolution_, /*upsample=*/true));
  }
  conv1 = register_module("conv1",
                          SynthesisLayer(out_channels_, out_channels_, w_dim_, resolution_, false));
  torgb = register_module("torgb", ToRgb(out_channels_, img_channels_, w_dim_));
}

std::pair<torch::Tensor, torch::Tensor> SynthesisBlockImpl::forward(const torch::Tensor& x,
                                                                    const torch::Tensor& img,
                                                                    const torch::Tensor& w,
                                                                    NoiseMode noise) {
  torch::Tensor h;
  if (in_channels_ == 0) {
    h = const_input.unsqueeze(0).expand({w.size(0), -1, -1, -1});
  } else {
    h = conv0(x, w, noise);
  }
  h = conv1(h, w, noise);
  torch::Tensor rgb = torgb(h, w);
  torch::Tensor out_img = img.defined() ? Upsample2x(img) + rgb : rgb;
  return {h, out_img};
}

// --- Generator -----------------------------------------------------------------------------

GeneratorImpl::GeneratorImpl(const ModelConfig& config) : config_(config) {
  config_.Validate();
  reset();
}

void GeneratorImpl::reset() {
  const ModelConfig& c = config_;
  embed_ = register_module("embed", EqualLinear(c.num_classes, c.embed_dim));
  mapping_.clear();
  for (int i = 0; i < c.mapping_layers; ++i) {
    const int in = i == 0 ? c.z_dim + c.embed_dim : c.w_dim;
    mapping_.push_back(register_module(
        "map" + std::to_string(i),
        EqualLinear(in, c.w_dim, /*bias_init=*/0.0, c.mapping_lr_mult, /*activate=*/true)));
  }
  blocks_.clear();
  int in_channels = 0;
  for (int res = 4; res <= c.resolution; res *= 2) {
    const int out_channels = c.ChannelsAt(res);
    blocks_.push_back(
        register_module("b" + std::to_string(res),
                        SynthesisBlock(in_channels, out_channels, c.w_dim, res, c.img_channels)));
    in_channels = out_channels;
  }
  w_avg_ = register_buffer("w_avg", torch::zeros({c.w_dim}));
  w_class_avg_ = register_buffer("w_class_avg", torch::zeros({c.num_classes, c.w_dim}));
  class_mean_samples_ =
      register_buffer("class_mean_samples", torch::zeros({}, torch::dtype(torch::kInt64)));
}

torch::Tensor GeneratorImpl::Map(const torch::Tensor& z, const torch::Tensor& labels,
                                 double truncation_psi) {
  if (z.dim() != 2 || z.size(1) != config_.z_dim)
    throw Error("Generator::Map: z must be [N, " + std::to_string(config_.z_dim) + "]");
  if (labels.dim() != 1 || labels.size(0) != z.size(0) || labels.scalar_type() != torch::kInt64)
    throw Error("Generator::Map: labels must be int64 [N] matching z");
  torch::Tensor onehot = torch::one_hot(labels, config_.num_classes).to(z.scalar_type());
  torch::Tensor x =
      torch::cat({NormalizeSecondMoment(z), NormalizeSecondMoment(embed_(onehot))}, 1);
  for (auto& layer : mapping_) x = layer(x);
  if (truncation_psi != 1.0) {
    torch::Tensor centre =
        HasClassMeans() ? w_class_avg_.index_select(0, labels) : w_avg_.unsqueeze(0);
    x = centre.lerp(x.to(centre.scalar_type()), truncation_psi);
  }
  return x;
}

torch::Tensor GeneratorImpl::Synthesize(const torch::Tensor& w, NoiseMode noise) {
  if (w.dim() != 2 || w.size(1) != config_.w_dim)
    throw Error("Generator::Synthesize: w must be [N, " + std::to_string(config_.w_dim) + "]");
  torch::Tensor x, img;
  for (auto& block : blocks_) std::tie(x, img) = block(x, img, w, noise);
  return img.contiguous();
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels,
                                     NoiseMode noise) {
  return Synthesize(Map(z, labels), noise);
}

void GeneratorImpl::UpdateWAvg(const torch::Tensor& w, double beta) {
  torch::NoGradGuard no_grad;
  w_avg_.copy_(w.detach().to(w_avg_.scalar_type()).mean(0).lerp(w_avg_, beta));
}

void GeneratorImpl::ComputeClassMeans(int64_t samples_per_class, uint64_t seed) {
  if (samples_per_class < 1) throw Error("ComputeClassMeans: samples_per_class must be >= 1");
  torch::NoGradGuard no_grad;
  const auto device = w_avg_.device();
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t chunk = 1024;
  for (int64_t c = 0; c < config_.num_classes; ++c) {
    torch::Tensor sum = torch::zeros({config_.w_dim}, torch::dtype(torch::kFloat64));
    for (int64_t done = 0; done < samples_per_class; done += chunk) {
      const int64_t n = std::min(chunk, samples_per_class - done);
      torch::Tensor z = torch::randn({n, config_.z_dim}, gen).to(device);
      torch::Tensor labels = torch::full({n}, c, torch::dtype(torch::kInt64).device(device));
      sum += Map(z, labels).sum(0).to(torch::kCPU, torch::kFloat64);
    }
    w_class_avg_[c].copy_((sum / double(samples_per_class)).to(w_class_avg_.scalar_type()));
  }
  class_mean_samples_.fill_(samples_per_class);
}

int64_t GeneratorImpl::ClassMeanSamples() const { return class_mean_samples_.item<int64_t>(); }

std::vector<torch::Tensor> GeneratorImpl::MappingParameters() const {
  std::vector<torch::Tensor> params = embed_->parameters();
  for (const auto& layer : mapping_)
    for (const auto& p : layer->parameters()) params.push_back(p);
  return params;
}

Generator CloneGenerator(const Generator& g, bool frozen) {
  Generator copy(std::dynamic_pointer_cast<GeneratorImpl>(g->clone()));
  if (frozen)
    for (auto& p : copy->parameters()) p.requires_grad_(false);
  return copy;
}

}  // namespace lethe::models
