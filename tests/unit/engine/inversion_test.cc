// GAN inversion on the tiny model: the schedules, recovery of a known code, batching and
// cancellation.
#include "engine/unlearn/inversion.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine/unlearn/cancelled.h"
#include "engine/unlearn/model_util.h"
#include "tests/unit/engine/unlearn_fixture.h"

namespace lethe::unlearn {
namespace {

using testing::GetWorld;

// `n` images the model itself generates (constant noise) from known codes w*, labels
// cycling over the classes: what a perfect inversion recovers exactly.
struct KnownImages {
  torch::Tensor labels, w_star, images;
};
KnownImages Generated(models::Generator& g, int64_t n, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  KnownImages k;
  k.labels = torch::arange(n, torch::kLong) % testing::kClasses;
  k.w_star = g->Map(torch::randn({n, g->config().z_dim}), k.labels);
  k.images = g->Synthesize(k.w_star, models::NoiseMode::kConst);
  return k;
}

// Mean squared pixel error of the class-mean start, the point inversion must improve on.
double StartError(models::Generator& g, const torch::Tensor& labels, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  torch::Tensor start =
      g->Synthesize(ClassMeans(g).index_select(0, labels), models::NoiseMode::kConst);
  return (start - target).pow(2).mean().item<double>();
}

TEST(Inversion, LearningRateRampsAndNoiseDecays) {
  InversionOptions o;
  o.lr = 0.1;
  EXPECT_DOUBLE_EQ(InversionLr(o, 0, 100), 0.0);  // ramp-up starts at zero
  EXPECT_NEAR(InversionLr(o, 5, 100), 0.1, 1e-12);
  EXPECT_NEAR(InversionLr(o, 50, 100), 0.1, 1e-12);
  EXPECT_LT(InversionLr(o, 90, 100), 0.05);  // cosine ramp-down
  EXPECT_NEAR(InversionLr(o, 100, 100), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(InversionNoise(o, 0, 100), o.noise_factor);
  double prev = InversionNoise(o, 0, 100);
  for (int s = 1; s < 100; ++s) {
    EXPECT_LE(InversionNoise(o, s, 100), prev);
    prev = InversionNoise(o, s, 100);
  }
  EXPECT_DOUBLE_EQ(InversionNoise(o, 75, 100), 0.0);
}

TEST(Inversion, NearestRowsPicksTheClosestCandidate) {
  torch::Tensor candidates = torch::tensor({0.f, 0.f, 10.f, 0.f, 0.f, 10.f}).view({3, 2});
  torch::Tensor targets = torch::tensor({9.f, 1.f, 1.f, 8.f, -1.f, -1.f, 6.f, 1.f}).view({4, 2});
  torch::Tensor nearest = NearestRows(targets, candidates);
  ASSERT_EQ(nearest.numel(), 4);
  EXPECT_EQ(nearest[0].item<int64_t>(), 1);
  EXPECT_EQ(nearest[1].item<int64_t>(), 2);
  EXPECT_EQ(nearest[2].item<int64_t>(), 0);
  EXPECT_EQ(nearest[3].item<int64_t>(), 1);
}

TEST(Inversion, NearestSampleStartIsNeverFartherThanTheClassMeanAndStaysInItsClass) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  const int64_t n = 12;
  const KnownImages known = Generated(g, n, 13);
  const torch::Tensor& labels = known.labels;
  const torch::Tensor& target = known.images;
  torch::Tensor means = ClassMeans(g);
  auto per_image_error = [&](const torch::Tensor& w) {
    torch::NoGradGuard no_grad;
    return (g->Synthesize(w, models::NoiseMode::kConst) - target).pow(2).flatten(1).mean(1);
  };
  InversionOptions o;
  o.start = InversionStart::kClassMean;
  torch::Tensor mean_start = StartCodes(g, target, labels, o, means);
  EXPECT_TRUE(torch::equal(mean_start, means.index_select(0, labels)));
  o.start = InversionStart::kNearestSample;
  o.start_samples = 64;
  torch::Tensor near_start = StartCodes(g, target, labels, o, means);
  ASSERT_EQ(near_start.sizes(), mean_start.sizes());
  torch::Tensor mean_err = per_image_error(mean_start);
  torch::Tensor near_err = per_image_error(near_start);
  // Per image never worse (the mean is a candidate), and clearly better on average.
  EXPECT_TRUE((near_err <= mean_err + 1e-6).all().item<bool>()) << near_err << mean_err;
  EXPECT_LT(near_err.mean().item<double>(), 0.8 * mean_err.mean().item<double>());
  // Each start code was drawn from the image's own class: it is nearer its class mean than
  // to any other class mean more often than not (classes overlap in W, so not always).
  torch::Tensor d = torch::cdist(near_start, means);
  EXPECT_GE(d.argmin(1).eq(labels).sum().item<int64_t>(), n / 2);
  // Deterministic for a seed.
  EXPECT_TRUE(torch::equal(near_start, StartCodes(g, target, labels, o, means)));
}

TEST(Inversion, NearestSampleStartReachesTheClassMeanStartsErrorInFewerSteps) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  const KnownImages known = Generated(g, 8, 14);
  const torch::Tensor& labels = known.labels;
  const torch::Tensor& target = known.images;
  InversionOptions o;
  o.seed = 4;
  o.start = InversionStart::kClassMean;
  o.steps = 60;
  const double mean_err = Invert(g, target, labels, o).mean_mse;
  o.start = InversionStart::kNearestSample;
  o.steps = 30;
  const double near_err = Invert(g, target, labels, o).mean_mse;
  std::printf("inversion: class-mean start, 60 steps %.5f; nearest-sample start, 30 steps %.5f\n",
              mean_err, near_err);
  EXPECT_LT(near_err, mean_err * 1.1);
}

TEST(Inversion, RecoversAKnownCodeOfTheTinyModel) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  const int64_t n = 8;
  const KnownImages known = Generated(g, n, 11);
  const torch::Tensor& labels = known.labels;
  const torch::Tensor& w_star = known.w_star;
  const torch::Tensor& target = known.images;
  const double start_err = StartError(g, labels, target);
  InversionOptions o;
  o.steps = 150;
  o.seed = 2;
  int64_t calls = 0;
  InversionResult r =
      Invert(g, target, labels, o, nullptr, nullptr, [&](int64_t done, int64_t total) {
        ++calls;
        EXPECT_EQ(total, 150);
        EXPECT_EQ(done, calls);
      });
  EXPECT_EQ(calls, 150);
  ASSERT_EQ(r.w.sizes(), w_star.sizes());
  ASSERT_EQ(r.mse.numel(), n);
  std::printf("inversion: start MSE %.4f -> mean %.5f, max %.5f (%.2f s)\n", start_err, r.mean_mse,
              r.max_mse, r.seconds);
  // Reconstruction error is small in absolute terms and far below the class-mean start.
  EXPECT_LT(r.mean_mse, 0.02);
  EXPECT_LT(r.mean_mse, 0.1 * start_err);
  // The recovered image is the target: per image, far closer than the class mean was.
  torch::Tensor recon = g->Synthesize(r.w, models::NoiseMode::kConst).detach();
  torch::Tensor per = (recon - target).pow(2).flatten(1).mean(1);
  EXPECT_TRUE(torch::allclose(per, r.mse, 1e-5, 1e-6));
  // And the code moved towards w*: closer than where it started.
  const double d_end = (r.w - w_star).norm(2, {1}).mean().item<double>();
  const double d_start =
      (ClassMeans(g).index_select(0, labels) - w_star).norm(2, {1}).mean().item<double>();
  EXPECT_LT(d_end, d_start);
  // Inversion leaves the generator as it was: nothing requires grad, no grads accumulated.
  for (const auto& p : g->parameters()) {
    EXPECT_FALSE(p.requires_grad());
    EXPECT_FALSE(p.grad().defined());
  }
}

TEST(Inversion, BFloat16SynthesisStillRecoversTheImages) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  const KnownImages known = Generated(g, 4, 12);
  const torch::Tensor& labels = known.labels;
  const torch::Tensor& target = known.images;
  const double start_err = StartError(g, labels, target);
  InversionOptions o;
  o.steps = 100;
  o.seed = 3;
  o.precision = train::Precision::kBFloat16;
  InversionResult r = Invert(g, target, labels, o);
  // Codes stay float32 and the float32 reconstruction error is far below the start.
  EXPECT_EQ(r.w.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(r.w).all().item<bool>());
  EXPECT_LT(r.mean_mse, 0.2 * start_err);
}

TEST(Inversion, ChunkedEqualsUnchunkedInQualityAndKeepsOrder) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  data::Dataset items = testing::ForgetItems(world.train, 2);  // 8 real images
  InversionOptions o;
  o.steps = 60;
  o.chunk = 3;
  InversionResult chunked = Invert(g, items.images, items.labels, o);
  o.chunk = 0;
  InversionResult whole = Invert(g, items.images, items.labels, o);
  ASSERT_EQ(chunked.w.size(0), items.size());
  // Same images in the same order: per-image errors agree closely (noise draws differ).
  EXPECT_TRUE(torch::allclose(chunked.mse, whole.mse, 0.5, 0.01)) << chunked.mse << whole.mse;
  EXPECT_THROW(Invert(g, items.images.narrow(2, 0, 8), items.labels, o), Error);
  EXPECT_THROW(Invert(g, items.images, items.labels.narrow(0, 0, 3), o), Error);
}

TEST(Inversion, CancellationStopsAtTheNextStep) {
  auto& world = GetWorld();
  models::Generator g = FrozenCopy(world.base.generator, torch::kCPU);
  data::Dataset items = testing::ForgetItems(world.train, 1);
  CancelToken cancel;
  int64_t last = 0;
  InversionOptions o;
  o.steps = 100;
  EXPECT_THROW(Invert(g, items.images, items.labels, o, nullptr, &cancel,
                      [&](int64_t done, int64_t) {
                        last = done;
                        if (done == 3) cancel.Cancel();
                      }),
               Cancelled);
  EXPECT_EQ(last, 3);
}

}  // namespace
}  // namespace lethe::unlearn
