#include "engine/train/loss.h"

namespace lethe::train {

torch::Tensor GeneratorLoss(const torch::Tensor& fake_logits) {
  return torch::softplus(-fake_logits).mean();
}

torch::Tensor FakeLoss(const torch::Tensor& fake_logits) {
  return torch::softplus(fake_logits).mean();
}

torch::Tensor DiscriminatorLoss(const torch::Tensor& real_logits,
                                const torch::Tensor& fake_logits) {
  return FakeLoss(fake_logits) + torch::softplus(-real_logits).mean();
}

torch::Tensor R1Penalty(const torch::Tensor& real_images, const torch::Tensor& real_logits) {
  torch::Tensor grad = torch::autograd::grad({real_logits.sum()}, {real_images},
                                             /*grad_outputs=*/{}, /*retain_graph=*/true,
                                             /*create_graph=*/true)[0];
  return grad.square().sum({1, 2, 3});
}

torch::Tensor LazyR1Loss(const torch::Tensor& real_images, const torch::Tensor& real_logits,
                         double gamma, int interval) {
  return R1Penalty(real_images, real_logits).mean() * (gamma * 0.5 * double(interval));
}

}  // namespace lethe::train
