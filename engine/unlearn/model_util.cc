#include "engine/unlearn/model_util.h"

#include "engine/data/sampler.h"

namespace lethe::unlearn {

int64_t CloserToSubstituteCount(const torch::Tensor& generated, const torch::Tensor& forgotten,
                                const torch::Tensor& substitute) {
  torch::Tensor to_x = (generated - forgotten).pow(2).flatten(1).mean(1);
  torch::Tensor to_s = (generated - substitute).pow(2).flatten(1).mean(1);
  return to_s.lt(to_x).sum().item<int64_t>();
}

torch::Device ModuleDevice(const torch::nn::Module& m) {
  auto params = m.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor ClassMeans(models::Generator& g, int64_t samples, uint64_t seed) {
  if (g->HasClassMeans()) return g->w_class_avg().detach().clone();
  torch::NoGradGuard no_grad;
  const auto& cfg = g->config();
  const torch::Device device = ModuleDevice(*g);
  torch::Generator rng = data::MakeGenerator(seed);
  std::vector<torch::Tensor> means;
  for (int64_t c = 0; c < cfg.num_classes; ++c) {
    torch::Tensor z = torch::randn({samples, int64_t(cfg.z_dim)}, rng).to(device);
    torch::Tensor labels = torch::full({samples}, c, torch::dtype(torch::kLong).device(device));
    means.push_back(g->Map(z, labels).mean(0));
  }
  return torch::stack(means);
}

}  // namespace lethe::unlearn
