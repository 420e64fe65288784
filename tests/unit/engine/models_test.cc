// The conditional StyleGAN2-style networks: configuration, shapes, determinism, the
// Map/Synthesize split unlearning relies on, and independent clones (G0, EMA).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "engine/base/error.h"
#include "engine/models/config.h"
#include "engine/models/device.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"
#include "engine/models/layers.h"

namespace lethe::models {
namespace {

ModelConfig Tiny(int res = 16, int channels = 1, int classes = 4) {
  return ModelConfig::Preset("tiny", res, channels, classes);
}

bool SameParameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa)
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  return true;
}

TEST(ModelConfig, PresetsJsonRoundTripAndValidation) {
  for (const char* name : {"tiny", "small", "paper"}) {
    ModelConfig c = ModelConfig::Preset(name, 32, 1, 10);
    EXPECT_EQ(c.preset, name);
    ModelConfig back = ModelConfig::FromJson(c.ToJson());
    EXPECT_EQ(back.ToJson(), c.ToJson());
  }
  ModelConfig small = ModelConfig::Preset("small", 32, 1, 10);
  EXPECT_EQ(small.ChannelsAt(4), 128);
  EXPECT_EQ(small.ChannelsAt(32), 32);
  EXPECT_EQ(ModelConfig::Preset("paper", 32, 3, 10).ChannelsAt(32), 512);
  EXPECT_EQ(small.NumBlocks(), 4);

  EXPECT_THROW(ModelConfig::Preset("huge", 32, 1, 10), Error);
  EXPECT_THROW(ModelConfig::Preset("tiny", 30, 1, 10), Error);  // not a power of two
  EXPECT_THROW(ModelConfig::Preset("tiny", 32, 2, 10), Error);  // 2 channels
  lethe::Json j = small.ToJson();
  j["z_dim"] = -1;
  EXPECT_THROW(ModelConfig::FromJson(j), Error);
  lethe::Json missing = lethe::Json::Object();
  try {
    ModelConfig::FromJson(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resolution"), std::string::npos) << e.what();
  }
}

TEST(Device, ParsesCpuAndRejectsTheRest) {
  EXPECT_TRUE(ParseDevice("cpu").is_cpu());
  EXPECT_THROW(ParseDevice("gpu"), Error);
  EXPECT_THROW(ParseDevice("cuda:x"), Error);
  if (!torch::cuda::is_available()) {
    try {
      ParseDevice("cuda");
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos);
    }
  }
  ConfigureThreads(2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  ConfigureThreads(1);  // unit tests run one thread per process (ctest runs them in parallel)
  EXPECT_EQ(torch::get_num_threads(), 1);
}

TEST(Generator, ShapesAndRange) {
  torch::manual_seed(0);
  Generator g(Tiny(16, 1, 4));
  torch::Tensor z = torch::randn({5, g->config().z_dim});
  torch::Tensor labels = torch::tensor({0, 1, 2, 3, 0}, torch::kInt64);
  torch::Tensor w = g->Map(z, labels);
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{5, g->config().w_dim}));
  torch::Tensor img = g->Synthesize(w);
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{5, 1, 16, 16}));
  EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
  // Equalised lr + demodulation keep untrained outputs at unit scale, not exploding.
  EXPECT_LT(img.abs().mean().item<double>(), 3.0);
  EXPECT_GT(img.std().item<double>(), 1e-3);

  Generator rgb(Tiny(32, 3, 10));
  torch::Tensor out =
      rgb->forward(torch::randn({2, rgb->config().z_dim}), torch::tensor({9, 3}, torch::kInt64));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));

  EXPECT_THROW(g->Map(torch::randn({2, 7}), torch::zeros({2}, torch::kInt64)), Error);
  EXPECT_THROW(g->Map(z, labels.to(torch::kInt32)), Error);
  EXPECT_THROW(g->Synthesize(torch::randn({2, 3})), Error);
}

TEST(Generator, InitialisationIsDeterministicFromTheSeed) {
  torch::manual_seed(7);
  Generator a(Tiny());
  torch::manual_seed(7);
  Generator b(Tiny());
  torch::manual_seed(8);
  Generator c(Tiny());
  EXPECT_TRUE(SameParameters(*a, *b));
  EXPECT_FALSE(SameParameters(*a, *c));
}

TEST(Generator, MapSynthesizeConsistencyAndNoiseModes) {
  torch::manual_seed(1);
  Generator g(Tiny());
  {
    torch::NoGradGuard no_grad;
    for (auto& item : g->named_parameters())
      if (item.key().find("noise_strength") != std::string::npos) item.value().fill_(0.5);
  }
  torch::Tensor z = torch::randn({4, g->config().z_dim});
  torch::Tensor labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  torch::Tensor split = g->Synthesize(g->Map(z, labels), NoiseMode::kConst);
  torch::Tensor whole = g->forward(z, labels, NoiseMode::kConst);
  EXPECT_TRUE(torch::equal(split, whole));
  // Const noise is reproducible; random noise is not; none differs from const.
  EXPECT_TRUE(torch::equal(g->Synthesize(g->Map(z, labels), NoiseMode::kConst), split));
  torch::Tensor r1 = g->Synthesize(g->Map(z, labels), NoiseMode::kRandom);
  torch::Tensor r2 = g->Synthesize(g->Map(z, labels), NoiseMode::kRandom);
  EXPECT_FALSE(torch::allclose(r1, r2));
  EXPECT_FALSE(torch::allclose(g->Synthesize(g->Map(z, labels), NoiseMode::kNone), split));
  // The class label changes w (conditioning reaches the mapping network).
  torch::Tensor w0 = g->Map(z, torch::zeros({4}, torch::kInt64));
  torch::Tensor w1 = g->Map(z, torch::ones({4}, torch::kInt64));
  EXPECT_FALSE(torch::allclose(w0, w1));
}

TEST(Generator, TruncationAndClassMeans) {
  torch::manual_seed(2);
  Generator g(Tiny());
  torch::NoGradGuard no_grad;
  torch::Tensor z = torch::randn({6, g->config().z_dim});
  torch::Tensor labels = torch::tensor({0, 1, 2, 3, 1, 2}, torch::kInt64);
  torch::Tensor w = g->Map(z, labels);
  EXPECT_TRUE(torch::equal(g->Map(z, labels, 1.0), w));

  // Without class means, psi = 0 collapses to the global w_avg.
  g->UpdateWAvg(w, 0.0);
  EXPECT_TRUE(torch::allclose(g->w_avg(), w.mean(0)));
  EXPECT_FALSE(g->HasClassMeans());
  torch::Tensor w_trunc = g->Map(z, labels, 0.0);
  EXPECT_TRUE(torch::allclose(w_trunc, g->w_avg().unsqueeze(0).expand_as(w)));

  g->ComputeClassMeans(256, 11);
  EXPECT_TRUE(g->HasClassMeans());
  EXPECT_EQ(g->ClassMeanSamples(), 256);
  torch::Tensor means = g->w_class_avg().clone();
  EXPECT_EQ(means.sizes(), (std::vector<int64_t>{4, g->config().w_dim}));
  EXPECT_FALSE(torch::allclose(means[0], means[1]));
  g->ComputeClassMeans(256, 11);
  EXPECT_TRUE(torch::equal(means, g->w_class_avg()));  // same seed, same means
  // With class means, psi = 0 gives each sample its own class's mean; psi = 0.5 halfway.
  EXPECT_TRUE(torch::allclose(g->Map(z, labels, 0.0), means.index_select(0, labels)));
  torch::Tensor half = g->Map(z, labels, 0.5);
  EXPECT_TRUE(torch::allclose(half, (w + means.index_select(0, labels)) * 0.5, 1e-5, 1e-5));
}

TEST(Generator, CloneHasIndependentWeightsAndBuffers) {
  torch::manual_seed(3);
  Generator g(Tiny());
  Generator copy = CloneGenerator(g);
  EXPECT_TRUE(SameParameters(*g, *copy));
  Generator frozen = CloneGenerator(g, /*frozen=*/true);
  for (const auto& p : frozen->parameters()) EXPECT_FALSE(p.requires_grad());
  for (const auto& p : g->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(copy->config().ToJson(), g->config().ToJson());
  torch::Tensor z = torch::randn({3, g->config().z_dim});
  torch::Tensor labels = torch::tensor({0, 1, 2}, torch::kInt64);
  torch::Tensor before = copy->forward(z, labels, NoiseMode::kConst).detach();
  EXPECT_TRUE(torch::equal(before, g->forward(z, labels, NoiseMode::kConst)));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : g->parameters()) p.add_(0.25);
    g->UpdateWAvg(torch::ones({1, g->config().w_dim}), 0.0);
  }
  EXPECT_FALSE(SameParameters(*g, *copy));
  EXPECT_TRUE(torch::equal(copy->forward(z, labels, NoiseMode::kConst), before));
  EXPECT_EQ(copy->w_avg().abs().sum().item<double>(), 0.0);  // buffer not shared
}

TEST(Discriminator, ShapesConditioningAndGradients) {
  torch::manual_seed(4);
  ModelConfig c = Tiny(16, 1, 4);
  Discriminator d(c);
  torch::Tensor x = torch::randn({6, 1, 16, 16}, torch::requires_grad());
  torch::Tensor labels = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64);
  torch::Tensor logits = d(x, labels);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{6}));  // 6 % 4 != 0: group shrinks to 3
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  torch::Tensor other = d(x, (labels + 1).remainder(4));
  EXPECT_FALSE(torch::allclose(logits, other));  // projection term uses the class
  logits.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  for (const auto& p : d->parameters()) ASSERT_TRUE(p.grad().defined());

  Discriminator copy = CloneDiscriminator(d, /*frozen=*/true);
  for (const auto& p : copy->parameters()) EXPECT_FALSE(p.requires_grad());
  torch::Tensor xd = x.detach();
  EXPECT_TRUE(torch::equal(copy(xd, labels), d(xd, labels)));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : d->parameters()) p.mul_(1.5);
  }
  EXPECT_FALSE(torch::equal(copy(xd, labels), d(xd, labels)));

  EXPECT_THROW(d(torch::randn({2, 1, 8, 8}), labels.slice(0, 0, 2)), Error);
  EXPECT_THROW(d(xd, labels.slice(0, 0, 3)), Error);
}

TEST(Layers, FusedAndUnfusedModulatedConvAgree) {
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({3, 8, 6, 6});
  torch::Tensor weight = torch::randn({5, 8, 3, 3});
  torch::Tensor styles = torch::randn({3, 8});
  for (bool demod : {true, false}) {
    torch::Tensor a = ModulatedConv2d(x, weight, styles, demod, /*fused=*/false);
    torch::Tensor b = ModulatedConv2d(x, weight, styles, demod, /*fused=*/true);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 5, 6, 6}));
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-4)) << "demodulate=" << demod;
  }
  // Demodulated output has unit expected scale whatever the style magnitude.
  torch::Tensor big = ModulatedConv2d(x, weight, styles * 100, true, false);
  EXPECT_TRUE(torch::allclose(big, ModulatedConv2d(x, weight, styles, true, false), 1e-4, 1e-4));
}

TEST(Layers, MinibatchStddevAppendsGroupStatistic) {
  torch::Tensor x = torch::zeros({4, 2, 3, 3});
  x[1].fill_(2.0);  // group of 4: one sample differs
  torch::Tensor y = MinibatchStddev(x, 4);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_TRUE(torch::equal(y.narrow(1, 0, 2), x));
  // Population std of {0, 2, 0, 0} is sqrt(0.75).
  EXPECT_NEAR(y[0][2][0][0].item<double>(), std::sqrt(0.75), 1e-4);
  EXPECT_NEAR(y[3][2][2][2].item<double>(), std::sqrt(0.75), 1e-4);
}

}  // namespace
}  // namespace lethe::models
