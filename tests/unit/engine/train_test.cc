// GAN losses and the training loop: reproducibility from the seed, exact resume, the
// checkpoint it writes, and that the tiny model actually learns a labelled data set.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "engine/data/dataset.h"
#include "engine/metrics/fd.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"
#include "engine/train/loss.h"
#include "engine/train/precision.h"
#include "engine/train/trainer.h"

namespace lethe::train {
namespace {

namespace fs = std::filesystem;
using models::ModelConfig;

// Four classes of simple shapes on a -1 background, at random positions:
// 0 horizontal bar, 1 vertical bar, 2 filled square, 3 thick diagonal line.
data::Dataset Shapes(int64_t per_class, int res, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = per_class * 4;
  torch::Tensor images = torch::full({n, 1, res, res}, -1.0f);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  torch::Tensor pos = torch::randint(2, res - 7, {n, 2}, gen, torch::kInt64);
  auto acc = images.accessor<float, 4>();
  data::Dataset d;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 4;
    const int64_t y = pos[i][0].item<int64_t>(), x = pos[i][1].item<int64_t>();
    for (int64_t r = 0; r < res; ++r)
      for (int64_t q = 0; q < res; ++q) {
        bool on = false;
        if (c == 0) on = r >= y && r < y + 3 && q >= 2 && q < res - 2;
        if (c == 1) on = q >= x && q < x + 3 && r >= 2 && r < res - 2;
        if (c == 2) on = r >= y && r < y + 5 && q >= x && q < x + 5;
        if (c == 3) on = std::abs(r - q - (y - x)) <= 1;
        if (on) acc[i][0][r][q] = 1.0f;
      }
    labels[i] = c;
    d.ids.push_back("shapes/" + std::to_string(i));
    d.hashes.push_back(Sha256Hex(images[i].data_ptr<float>(), size_t(res * res) * sizeof(float)));
  }
  d.name = "shapes";
  d.images = images;
  d.labels = labels;
  d.num_classes = 4;
  return d;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lethe-train-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

void ExpectSameModules(torch::nn::Module& a, torch::nn::Module& b, bool same = true) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool all_equal = true;
  for (const auto& item : pa) all_equal &= torch::equal(item.value(), pb[item.key()]);
  EXPECT_EQ(all_equal, same);
}

TEST(Loss, ValuesOnKnownLogits) {
  const double ln2 = std::log(2.0);
  torch::Tensor zeros = torch::zeros({4});
  EXPECT_NEAR(GeneratorLoss(zeros).item<double>(), ln2, 1e-6);
  EXPECT_NEAR(DiscriminatorLoss(zeros, zeros).item<double>(), 2 * ln2, 1e-6);
  // A confident, correct D: real >> 0, fake << 0 -> small D loss, large G loss.
  torch::Tensor real = torch::full({4}, 10.0), fake = torch::full({4}, -10.0);
  EXPECT_LT(DiscriminatorLoss(real, fake).item<double>(), 1e-3);
  EXPECT_NEAR(GeneratorLoss(fake).item<double>(), 10.0, 1e-3);
  EXPECT_NEAR(FakeLoss(fake).item<double>(), std::log1p(std::exp(-10.0)), 1e-6);
}

TEST(Loss, R1PenaltyIsTheSquaredInputGradient) {
  // D(x) = sum(a * x): its input gradient is a, so the penalty is ||a||^2 per sample.
  torch::Tensor a = torch::arange(8, torch::kFloat32).view({1, 2, 2, 2});
  torch::Tensor x = torch::randn({3, 2, 2, 2}, torch::requires_grad());
  torch::Tensor logits = (x * a).sum({1, 2, 3});
  torch::Tensor penalty = R1Penalty(x, logits);
  const double expected = a.square().sum().item<double>();  // 140
  ASSERT_EQ(penalty.sizes(), (std::vector<int64_t>{3}));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(penalty[i].item<double>(), expected, 1e-4);
  EXPECT_NEAR(LazyR1Loss(x, logits, 0.5, 4).item<double>(), expected * 0.5 / 2 * 4, 1e-3);
  // Differentiable (create_graph): d/dx of ||2x||^2-style penalties must exist.
  torch::Tensor y = torch::randn({2, 1, 2, 2}, torch::requires_grad());
  torch::Tensor q = y.square().sum({1, 2, 3});
  R1Penalty(y, q).sum().backward();  // penalty = 4||y||^2 -> grad 8y
  EXPECT_TRUE(torch::allclose(y.grad(), 8 * y.detach(), 1e-5, 1e-5));
}

TrainOptions FastOptions(int64_t iterations, int batch = 8) {
  TrainOptions o;
  o.iterations = iterations;
  o.batch = batch;
  o.seed = 42;
  o.log_every = 0;
  o.r1_interval = 2;  // exercise the R1 pass in short runs
  o.class_mean_samples = 64;
  return o;
}

TEST(Trainer, SameSeedSameWeightsDifferentSeedDifferentWeights) {
  models::ConfigureThreads(1);
  data::Dataset data = Shapes(8, 16, 1);
  ModelConfig config = ModelConfig::Preset("tiny", 16, 1, 4);
  auto run = [&](uint64_t seed) {
    TrainOptions o = FastOptions(3);
    o.seed = seed;
    auto t = std::make_unique<Trainer>(config, o);
    for (int i = 0; i < 3; ++i)
      t->Step(data.images.narrow(0, 8 * i, 8), data.labels.narrow(0, 8 * i, 8));
    return t;
  };
  auto a = run(5), b = run(5), c = run(6);
  EXPECT_EQ(a->iteration(), 3);
  ExpectSameModules(*a->generator(), *b->generator());
  ExpectSameModules(*a->generator_ema(), *b->generator_ema());
  ExpectSameModules(*a->discriminator(), *b->discriminator());
  ExpectSameModules(*a->generator(), *c->generator(), /*same=*/false);
  // The EMA trails the trained generator and w_avg has moved away from zero.
  ExpectSameModules(*a->generator(), *a->generator_ema(), /*same=*/false);
  EXPECT_GT(a->generator()->w_avg().norm().item<double>(), 0.0);
  Trainer::LossMeans m = a->TakeLossMeans();
  EXPECT_TRUE(std::isfinite(m.g_loss) && std::isfinite(m.d_loss));
  EXPECT_GT(m.d_loss, 0.0);
  EXPECT_GT(m.r1_penalty, 0.0);
}

TEST(Trainer, BFloat16StepsAreFiniteAndReproducible) {
  models::ConfigureThreads(1);
  data::Dataset data = Shapes(8, 16, 1);
  ModelConfig config = ModelConfig::Preset("tiny", 16, 1, 4);
  auto run = [&](Precision precision) {
    TrainOptions o = FastOptions(3);
    o.precision = precision;
    auto t = std::make_unique<Trainer>(config, o);
    for (int i = 0; i < 3; ++i)
      t->Step(data.images.narrow(0, 8 * i, 8), data.labels.narrow(0, 8 * i, 8));
    return t;
  };
  auto a = run(Precision::kBFloat16), b = run(Precision::kBFloat16);
  auto reference = run(Precision::kFloat32);
  ExpectSameModules(*a->generator(), *b->generator());
  ExpectSameModules(*a->discriminator(), *b->discriminator());
  // Different arithmetic, so different (but float32) weights.
  ExpectSameModules(*a->generator(), *reference->generator(), /*same=*/false);
  for (const auto& p : a->generator()->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  }
  Trainer::LossMeans m = a->TakeLossMeans();
  EXPECT_TRUE(std::isfinite(m.g_loss) && std::isfinite(m.d_loss) && std::isfinite(m.r1_penalty));
  // Autocast is scoped to the step: nothing outside it runs in bfloat16.
  torch::Tensor w =
      a->generator()->Map(torch::randn({2, config.z_dim}), torch::zeros({2}, torch::kInt64));
  EXPECT_EQ(w.scalar_type(), torch::kFloat32);
  EXPECT_EQ(ParsePrecision("bf16"), Precision::kBFloat16);
  EXPECT_THROW(ParsePrecision("fp16"), Error);
}

// The scope switches autocast on for its device, survives nesting, and restores what was
// there before on leaving (an inner scope must not switch the outer one off).
TEST(Precision, AutocastScopeNestsAndRestores) {
  const torch::Device cpu(torch::kCPU);
  torch::Tensor a = torch::ones({4, 4}), b = torch::ones({4, 4});
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
  {
    AutocastScope outer(Precision::kBFloat16, cpu);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastScope inner(Precision::kBFloat16, cpu);
      AutocastScope off(Precision::kFloat32, cpu);  // float32 leaves the state alone
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
}

TEST(TrainGan, ResumeContinuesExactlyAndCheckpointsAreComplete) {
  models::ConfigureThreads(1);
  TempDir tmp;
  data::Dataset data = Shapes(10, 16, 2);
  ModelConfig config = ModelConfig::Preset("tiny", 16, 1, 4);

  // Uninterrupted: 6 iterations with snapshots every 2, evaluations every 3.
  TrainOptions full = FastOptions(6);
  full.out_dir = tmp / "full";
  full.checkpoint_every = 2;
  full.eval_every = 3;
  std::vector<int64_t> evals;
  full.on_eval = [&](int64_t it, Generator& g) {
    evals.push_back(it);
    // Evaluation draws random numbers; the training stream must not notice.
    g->forward(torch::randn({4, g->config().z_dim}), torch::zeros({4}, torch::kInt64));
  };
  TrainResult a = TrainGan(data, config, full);
  EXPECT_EQ(a.iterations, 6);
  EXPECT_FALSE(a.cancelled);
  EXPECT_EQ(a.checkpoint_dir, full.out_dir);
  EXPECT_EQ(evals, (std::vector<int64_t>{3, 6}));
  EXPECT_GT(a.ms_per_iteration, 0.0);
  EXPECT_FALSE(fs::exists(full.out_dir + ".resume"));  // snapshot removed when done
  EXPECT_EQ(ResumeDirFor(full.out_dir + "/"), full.out_dir + ".resume");
  EXPECT_EQ(ResumeDirFor(""), "");

  // Interrupted after 2 iterations (cancelled from the progress callback), then resumed.
  lethe::CancelToken cancel;
  TrainOptions first = FastOptions(6);
  first.out_dir = tmp / "part";
  first.log_every = 1;
  first.cancel = &cancel;
  int64_t progress_calls = 0;
  first.on_progress = [&](const TrainProgress& p) {
    ++progress_calls;
    EXPECT_EQ(p.iterations, 6);
    if (p.iteration == 2) cancel.Cancel();
  };
  TrainResult b = TrainGan(data, config, first);
  EXPECT_TRUE(b.cancelled);
  EXPECT_EQ(b.iterations, 2);
  EXPECT_EQ(progress_calls, 2);
  EXPECT_FALSE(fs::exists(first.out_dir));  // no final model from a cancelled run
  ASSERT_TRUE(fs::exists(first.out_dir + ".resume"));

  // A fresh run into the same output must not clobber the unfinished run's snapshot.
  try {
    TrainGan(data, config, first);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unfinished run"), std::string::npos) << e.what();
  }

  TrainOptions second = FastOptions(6);
  second.out_dir = tmp / "resumed";
  second.resume_from = first.out_dir + ".resume";
  TrainResult c = TrainGan(data, config, second);
  EXPECT_EQ(c.iterations, 6);
  EXPECT_EQ(c.iterations_this_run, 4);
  // The recorded training time covers both runs, not only the resumed one.
  const double snapshot_seconds =
      b.train_seconds;  // the interrupted run's steps, saved with its snapshot
  const lethe::Json resumed_training =
      models::LoadCheckpoint(second.out_dir, torch::kCPU).manifest.at("training");
  EXPECT_NEAR(resumed_training.at("train_seconds").AsDouble(), snapshot_seconds + c.train_seconds,
              1e-6);
  EXPECT_GT(resumed_training.at("train_seconds").AsDouble(), c.train_seconds);

  models::Checkpoint ca = models::LoadCheckpoint(full.out_dir, torch::kCPU);
  models::Checkpoint cc = models::LoadCheckpoint(second.out_dir, torch::kCPU);
  ExpectSameModules(*ca.generator, *cc.generator);
  ExpectSameModules(*ca.discriminator, *cc.discriminator);
  EXPECT_TRUE(torch::equal(ca.generator->w_class_avg(), cc.generator->w_class_avg()));
  EXPECT_EQ(models::ReadCheckpointFile(ca, kTrainGeneratorFile),
            models::ReadCheckpointFile(cc, kTrainGeneratorFile));

  // The manifest records the data and the schedule; class means were computed.
  const lethe::Json& m = ca.manifest;
  EXPECT_EQ(m.at("dataset").at("fingerprint").AsString(), data.Fingerprint());
  EXPECT_EQ(m.at("dataset").at("size").AsInt(), data.size());
  EXPECT_EQ(m.at("training").at("iteration").AsInt(), 6);
  EXPECT_EQ(m.at("training").at("batch").AsInt(), 8);
  EXPECT_TRUE(ca.generator->HasClassMeans());
  for (const char* f : {kTrainGeneratorFile, kTrainGOptimFile, kTrainDOptimFile, kTrainStateFile})
    EXPECT_TRUE(m.at("files").Has(f)) << f;

  // Refusals: existing output, data that does not fit the model, resuming on other data.
  try {
    TrainGan(data, config, full);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TrainGan(Shapes(4, 32, 3), config, FastOptions(1)), Error);
  TrainOptions other = FastOptions(7);
  other.resume_from = full.out_dir;
  EXPECT_THROW(TrainGan(Shapes(10, 16, 99), config, other), Error);
}

// Raw-pixel statistics of 128 samples per class: Fréchet distance to the real images,
// mean squared error between each class's mean generated and mean real image, and how
// often a sample is nearest to the mean real image of its own conditioning class.
struct Quality {
  double fd = 0;
  double class_mean_mse = 0;
  double class_accuracy = 0;
};

Quality Measure(Generator& g, const data::Dataset& real, const torch::Tensor& class_means) {
  torch::NoGradGuard no_grad;
  const int64_t per_class = 128;
  torch::Tensor labels = torch::arange(4, torch::kInt64).repeat_interleave(per_class);
  auto gen = at::detail::createCPUGenerator(77);
  torch::Tensor z = torch::randn({labels.size(0), g->config().z_dim}, gen);
  torch::Tensor fake = g->Synthesize(g->Map(z, labels), models::NoiseMode::kConst).flatten(1);
  Quality q;
  q.fd = metrics::FrechetDistance(metrics::ComputeStats(fake),
                                  metrics::ComputeStats(real.images.flatten(1)));
  torch::Tensor fake_means = fake.view({4, per_class, -1}).mean(1);
  q.class_mean_mse = (fake_means - class_means).square().mean().item<double>();
  torch::Tensor nearest = torch::cdist(fake, class_means).argmin(1);
  q.class_accuracy = nearest.eq(labels).to(torch::kFloat64).mean().item<double>();
  return q;
}

// Trains the tiny model on the shapes and measures it before and after.
struct LearningRun {
  Quality before, after;
  double real_accuracy = 0;
};

LearningRun TrainShapes(Precision precision, int64_t iterations) {
  models::ConfigureThreads(1);
  const auto start = std::chrono::steady_clock::now();
  data::Dataset data = Shapes(128, 16, 3);
  std::vector<torch::Tensor> means;
  for (int c = 0; c < 4; ++c)
    means.push_back(
        data.images.index_select(0, torch::nonzero(data.labels == c).flatten()).flatten(1).mean(0));
  torch::Tensor class_means = torch::stack(means);

  ModelConfig config = ModelConfig::Preset("tiny", 16, 1, 4);
  TrainOptions o;
  o.iterations = iterations;
  o.batch = 32;
  o.seed = 3;
  o.log_every = 0;
  o.g_lr = o.d_lr = 0.005;
  o.class_mean_samples = 256;
  o.precision = precision;
  LearningRun run;
  Trainer untrained(config, o);
  run.before = Measure(untrained.generator_ema(), data, class_means);
  run.real_accuracy = torch::cdist(data.images.flatten(1), class_means)
                          .argmin(1)
                          .eq(data.labels)
                          .to(torch::kFloat64)
                          .mean()
                          .item<double>();

  TempDir tmp;
  o.out_dir = tmp / "model";
  TrainResult r = TrainGan(data, config, o);
  models::Checkpoint ckpt = models::LoadCheckpoint(o.out_dir, torch::kCPU);
  run.after = Measure(ckpt.generator, data, class_means);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "tiny 16x16 %s, %lld steps: FD %.2f -> %.2f, class-mean MSE %.3f -> %.3f, class accuracy "
      "%.2f -> %.2f (real data %.2f), %.1f ms/it, %.1f s\n",
      PrecisionName(precision), static_cast<long long>(iterations), run.before.fd, run.after.fd,
      run.before.class_mean_mse, run.after.class_mean_mse, run.before.class_accuracy,
      run.after.class_accuracy, run.real_accuracy, r.ms_per_iteration, seconds);
  return run;
}

TEST(TrainGan, TinyModelLearnsAConditionalDataSet) {
  LearningRun run = TrainShapes(Precision::kFloat32, 300);
  EXPECT_LT(run.after.fd, 0.5 * run.before.fd);
  EXPECT_LT(run.after.class_mean_mse, 0.5 * run.before.class_mean_mse);
  // Conditioning: 300 steps learn it only partly (0.5-0.7 measured, real data 0.83), but a
  // generator that ignored its labels would stay near chance (0.25).
  EXPECT_GT(run.after.class_accuracy, 0.4);
}

TEST(TrainGan, TinyModelLearnsInBFloat16) {
  LearningRun run = TrainShapes(Precision::kBFloat16, 150);
  EXPECT_LT(run.after.fd, 0.5 * run.before.fd);
  EXPECT_LT(run.after.class_mean_mse, 0.5 * run.before.class_mean_mse);
}

}  // namespace
}  // namespace lethe::train
