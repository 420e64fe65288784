// The domain classifier: learns a tiny synthetic task quickly, round-trips through its
// directory bit for bit, and refuses a tampered weights file.
#include "engine/metrics/evaluator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/data/forget_split.h"
#include "engine/metrics/auc.h"
#include "engine/metrics/class_separation.h"
#include "engine/metrics/registry.h"
#include "engine/models/config.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"

namespace lethe::metrics {
namespace {

namespace fs = std::filesystem;

// Class c = a bright square in quadrant c (plus noise), on a dark 16x16 background.
data::Dataset Quadrants(int64_t n, uint64_t seed, const std::string& prefix) {
  torch::manual_seed(seed);
  data::Dataset d;
  d.name = "quadrants/" + prefix;
  d.num_classes = 4;
  d.labels = torch::arange(n) % 4;
  d.images = torch::full({n, 1, 16, 16}, -0.8) + 0.2 * torch::randn({n, 1, 16, 16});
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = d.labels[i].item<int64_t>();
    int64_t r0 = (c / 2) * 8 + 2, c0 = (c % 2) * 8 + 2;
    d.images[i].narrow(1, r0, 4).narrow(2, c0, 4).fill_(0.8);
    d.ids.push_back(prefix + "/" + std::to_string(i));
    d.hashes.push_back(std::to_string(i));
  }
  d.images = d.images.clamp(-1, 1).contiguous();
  return d;
}

EvaluatorOptions FastOptions() {
  EvaluatorOptions o;
  o.iterations = 50;
  o.batch = 32;
  o.width = 8;
  o.feature_dim = 16;
  o.seed = 5;
  o.log_every = 10;
  return o;
}

std::string TempPath(const std::string& name) {
  std::string p = (fs::temp_directory_path() /
                   ("lethe_evaluator_test_" + std::to_string(::getpid()) + "_" + name))
                      .string();
  fs::remove_all(p);
  return p;
}

TEST(Evaluator, TrainsToHighAccuracyAndRoundTrips) {
  data::Dataset train = Quadrants(256, 1, "train"), test = Quadrants(64, 2, "test");
  EvaluatorOptions options = FastOptions();
  int reports = 0;
  double last_train_accuracy = 0;
  options.on_progress = [&](int64_t, double, double train_accuracy) {
    ++reports;
    last_train_accuracy = train_accuracy;
  };
  Evaluator ev = TrainEvaluator(train, test, options);
  EXPECT_EQ(reports, 5);
  EXPECT_GE(last_train_accuracy, 0.9);
  const double acc = ev.info().at("test_accuracy").AsDouble();
  EXPECT_GE(acc, 0.95);
  EXPECT_EQ(ev.info().at("dataset_fingerprint").AsString(), train.Fingerprint());
  EXPECT_NEAR(ev.Accuracy(test.images, test.labels), acc, 1e-12);

  torch::Tensor f = ev.Features(test.images, /*batch=*/10);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{64, 16}));
  EXPECT_FALSE(f.requires_grad());
  // Batching does not change the result (eval mode: no batch statistics).
  EXPECT_TRUE(torch::allclose(f, ev.Features(test.images, 64), 1e-5, 1e-6));

  const std::string dir = TempPath("roundtrip");
  ev.Save(dir);
  Evaluator loaded = Evaluator::Load(dir, torch::kCPU);
  EXPECT_EQ(loaded.feature_dim(), 16);
  EXPECT_EQ(loaded.num_classes(), 4);
  // Same batch size as `f`: bit-equality holds only for the same kernels, and oneDNN picks
  // kernels by shape (and CPU).
  EXPECT_TRUE(torch::equal(loaded.Features(test.images, /*batch=*/10), f));
  EXPECT_TRUE(torch::equal(loaded.Logits(test.images), ev.Logits(test.images)));
  EXPECT_DOUBLE_EQ(loaded.info().at("test_accuracy").AsDouble(), acc);
  fs::remove_all(dir);
}

TEST(Evaluator, FeaturesWithGradReachTheImagesOnly) {
  Evaluator ev(EvaluatorConfig{16, 1, 4, 8, 16}, torch::kCPU);
  torch::Tensor x = torch::zeros({3, 1, 16, 16}).uniform_(-1, 1).requires_grad_(true);
  torch::Tensor f = ev.FeaturesWithGrad(x);
  EXPECT_TRUE(torch::allclose(f, ev.Features(x.detach()), 1e-5, 1e-6));
  f.pow(2).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  for (const auto& p : ev.MutableNet()->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_THROW(ev.Features(torch::zeros({2, 3, 16, 16})), Error);
}

TEST(Evaluator, TamperedOrMissingFilesAreRefused) {
  Evaluator ev(EvaluatorConfig{16, 1, 4, 8, 16}, torch::kCPU);
  const std::string dir = TempPath("tamper");
  ev.Save(dir);
  const std::string weights = JoinPath(dir, "weights.pt");
  std::string bytes = ReadFile(weights);
  bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x40);
  WriteFileAtomic(weights, bytes);
  try {
    Evaluator::Load(dir, torch::kCPU);
    FAIL() << "a tampered weights file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(weights), std::string::npos) << e.what();
  }
  fs::remove(weights);
  EXPECT_THROW(Evaluator::Load(dir, torch::kCPU), Error);
  WriteFileAtomic(JoinPath(dir, "manifest.json"), "{not json");
  try {
    Evaluator::Load(dir, torch::kCPU);
    FAIL() << "a corrupt manifest was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos) << e.what();
  }
  // A GAN checkpoint's folder given as the evaluator: said so, not "missing key".
  WriteFileAtomic(JoinPath(dir, "manifest.json"),
                  "{\"format_version\": 1, \"config\": {}, \"w_avg\": []}");
  try {
    Evaluator::Load(dir, torch::kCPU);
    FAIL() << "a GAN manifest was accepted as an evaluator";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a GAN checkpoint, not an evaluator"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

// A tiny untrained GAN, a briefly trained evaluator and the quadrants data, shared by the
// registry tests (building them once keeps the suite fast).
class MetricRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    train_ = new data::Dataset(Quadrants(128, 11, "train"));
    test_ = new data::Dataset(Quadrants(64, 12, "test"));
    EvaluatorOptions o = FastOptions();
    o.iterations = 30;
    evaluator_ = new Evaluator(TrainEvaluator(*train_, *test_, o));
  }
  static void TearDownTestSuite() {
    delete evaluator_;
    delete test_;
    delete train_;
  }

  MetricInputs Inputs(const data::ForgetSplit& split, int forget_class) {
    torch::manual_seed(21);
    models::ModelConfig config = models::ModelConfig::Preset("tiny", 16, 1, 4);
    MetricInputs in;
    in.generator = models::Generator(config);
    in.discriminator = models::Discriminator(config);
    in.evaluator = evaluator_;
    in.train = &split.retained;
    in.test = test_;
    in.forget = &split.forgotten;
    in.forget_class = forget_class;
    in.num_generated = 48;
    in.score_batch = 8;
    in.batch = 32;
    in.seed = 3;
    return in;
  }

  static data::Dataset* train_;
  static data::Dataset* test_;
  static Evaluator* evaluator_;
};
data::Dataset* MetricRegistryTest::train_ = nullptr;
data::Dataset* MetricRegistryTest::test_ = nullptr;
Evaluator* MetricRegistryTest::evaluator_ = nullptr;

TEST_F(MetricRegistryTest, ItemRequestMetricsAreDeterministicAndWellFormed) {
  data::ForgetSplit split = data::SplitByItems(*train_, {"train/1", "train/6", "train/7"});
  MetricInputs in = Inputs(split, -1);
  MetricRegistry registry = DefaultMetrics();
  EXPECT_EQ(
      registry.Available(in),
      (std::vector<std::string>{"accuracy", "auc_u", "fd", "fd_l", "fd_u", "generator_blackbox_auc",
                                "generator_blackbox_raw_auc", "logan_auc"}));
  // The white-box attack needs an inversion to re-invert with.
  in.attack_samples_per_class = 64;
  in.reconstruct = [](models::Generator& g, const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard no_grad;
    return g->forward(torch::zeros({x.size(0), g->config().z_dim}), y, models::NoiseMode::kConst);
  };
  EXPECT_EQ(registry.Available(in).size(), 10u);
  in.reconstruct = nullptr;
  Json a = EvaluateModel(in);
  Json b = EvaluateModel(in);
  EXPECT_EQ(a, b);
  for (const char* name : {"fd", "fd_l", "fd_u"}) {
    EXPECT_TRUE(std::isfinite(a.at(name).AsDouble())) << name;
    EXPECT_GE(a.at(name).AsDouble(), 0.0) << name;
  }
  for (const char* name : {"accuracy", "auc_u", "logan_auc"}) {
    EXPECT_GE(a.at(name).AsDouble(), 0.0) << name;
    EXPECT_LE(a.at(name).AsDouble(), 1.0) << name;
  }
  in.seed = 4;
  EXPECT_NE(EvaluateModel(in, {"fd"}).at("fd").AsDouble(), a.at("fd").AsDouble());

  // auc_u is P(D(retained) > D(forgotten)) over every image here (sets are under max_scored).
  std::vector<double> l = DiscriminatorScores(in.discriminator, split.retained.images,
                                              split.retained.labels, 8, torch::kCPU);
  std::vector<double> u = DiscriminatorScores(in.discriminator, split.forgotten.images,
                                              split.forgotten.labels, 8, torch::kCPU);
  EXPECT_DOUBLE_EQ(a.at("auc_u").AsDouble(), MannWhitneyAuc(l, u));
}

TEST_F(MetricRegistryTest, ClassRequestMetricsAndErrors) {
  data::ForgetSplit split = data::SplitByClass(*train_, 2);
  MetricInputs in = Inputs(split, 2);
  Json m = EvaluateModel(in, {"class_separation_fd", "fd_u", "logan_auc"});
  EXPECT_EQ(m.size(), 3u);
  // With every image in the sample, the metric is exactly the standalone function.
  EXPECT_NEAR(m.at("class_separation_fd").AsDouble(),
              ClassSeparationFd(*train_, *evaluator_, 2, /*max_per_class=*/1000, 0), 1e-9);
  EXPECT_GT(m.at("class_separation_fd").AsDouble(), 0.0);

  MetricRegistry registry = DefaultMetrics();
  EXPECT_THROW(registry.Compute(in, {"no_such_metric"}), Error);
  data::ForgetSplit none;
  none.retained = *train_;
  MetricInputs plain = Inputs(none, -1);
  plain.forget = nullptr;
  EXPECT_EQ(registry.Available(plain), (std::vector<std::string>{"accuracy", "fd", "fd_l"}));
  try {
    registry.Compute(plain, {"auc_u"});
    FAIL() << "auc_u without a forget set was computed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("auc_u"), std::string::npos) << e.what();
  }
}

TEST(DiscriminatorScores, EveryBatchHasTheSameSizeAndComesFromTheSameSet) {
  torch::manual_seed(5);
  models::Discriminator d(models::ModelConfig::Preset("tiny", 16, 1, 4));
  torch::Tensor x = torch::rand({5, 1, 16, 16}) * 2 - 1;
  torch::Tensor y = torch::tensor({0, 1, 2, 3, 0}, torch::kInt64);
  std::vector<double> s = DiscriminatorScores(d, x, y, 4, torch::kCPU);
  ASSERT_EQ(s.size(), 5u);
  torch::NoGradGuard no_grad;
  torch::Tensor first = d->forward(x.narrow(0, 0, 4), y.narrow(0, 0, 4));
  torch::Tensor wrap = torch::tensor({4, 0, 1, 2}, torch::kInt64);
  torch::Tensor tail = d->forward(x.index_select(0, wrap), y.index_select(0, wrap));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(s[size_t(i)], first[i].item<double>(), 1e-5);
  EXPECT_NEAR(s[4], tail[0].item<double>(), 1e-5);

  // A set smaller than the batch: batches of 4 (the group size), never copies in a group.
  torch::Tensor x6 = torch::rand({6, 1, 16, 16}) * 2 - 1;
  torch::Tensor y6 = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64);
  std::vector<double> s6 = DiscriminatorScores(d, x6, y6, 64, torch::kCPU);
  ASSERT_EQ(s6.size(), 6u);
  torch::Tensor wrap6 = torch::tensor({4, 5, 0, 1}, torch::kInt64);
  torch::Tensor tail6 = d->forward(x6.index_select(0, wrap6), y6.index_select(0, wrap6));
  EXPECT_NEAR(s6[0], d->forward(x6.narrow(0, 0, 4), y6.narrow(0, 0, 4))[0].item<double>(), 1e-5);
  EXPECT_NEAR(s6[5], tail6[1].item<double>(), 1e-5);
}

}  // namespace
}  // namespace lethe::metrics
