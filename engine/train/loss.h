// StyleGAN2's GAN objective, shared by base training, retraining and the learning phase
// of unlearning: non-saturating logistic losses on raw logits plus a lazy R1 penalty.
#pragma once

#include <torch/torch.h>

namespace lethe::train {

// Non-saturating generator loss: mean softplus(-D(G(z))).
torch::Tensor GeneratorLoss(const torch::Tensor& fake_logits);

// Logistic discriminator loss: mean softplus(D(fake)) + mean softplus(-D(real)).
torch::Tensor DiscriminatorLoss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
// The "generated images are fake" half alone (the unlearning losses add their own real
// terms to it).
torch::Tensor FakeLoss(const torch::Tensor& fake_logits);

// Per-sample squared gradient norm ||dD(x)/dx||^2 [N]. `real_images` must require grad
// and `real_logits` must have been computed from it; the result is differentiable.
torch::Tensor R1Penalty(const torch::Tensor& real_images, const torch::Tensor& real_logits);

// The lazy R1 term added to D's loss once every `interval` steps:
// mean(penalty) * gamma / 2 * interval (scaled up so its average effect matches R1 applied
// at every step).
torch::Tensor LazyR1Loss(const torch::Tensor& real_images, const torch::Tensor& real_logits,
                         double gamma, int interval);

}  // namespace lethe::train
