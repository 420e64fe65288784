// TEMPORARY experiment harness (deleted before hand-off).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <chrono>
#include <cstdlib>
#include "engine/metrics/fd.h"
#include "engine/metrics/class_separation.h"
#include "engine/unlearn/unlearn.h"
#include "tests/unit/engine/unlearn_fixture.h"

namespace lethe::unlearn {
namespace {
double Env(const char* k, double d) { const char* v = std::getenv(k); return v ? std::atof(v) : d; }
std::set<std::string> IdsOf(const data::Dataset& d) { return {d.ids.begin(), d.ids.end()}; }

TEST(ZZExperiment, DISABLED_Item) {
  auto t0 = std::chrono::steady_clock::now();
  auto& world = testing::GetWorld();
  std::printf("world %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  data::Dataset forget = testing::ForgetItems(world.train, int64_t(Env("PER", 4)));
  data::Dataset retained = world.train.Without(IdsOf(forget));
  RetainedImages images(retained, IdsOf(forget), int64_t(Env("POOL", forget.size())), 9, torch::kCPU);
  UnlearnRequest r;
  r.forget = forget;
  r.mode = Env("ZERO", 0) > 0 ? Mode::kZeroShot : Mode::kFewShot;
  r.substitute.kind = SubstituteKind::kAverage;
  r.cascade.zeta = Env("ZETA", 0.1);
  r.cascade.lr = Env("LR", 0);
  r.cascade.zeta_on_logit = Env("LOGIT", 0) > 0;
  r.cascade.batch = int64_t(Env("BATCH", 0));
  r.cascade.alpha_pixel = 1.0;
  r.cascade.eval_every = int64_t(Env("EVERY", 10));
  r.cascade.eval_samples = 128;
  r.cascade.max_iterations = int64_t(Env("ITERS", 100));
  r.cascade.learning_steps = int64_t(Env("LSTEPS", 1));
  r.inversion.steps = int64_t(Env("INV", 60));
  r.cascade.distill_weight = Env("DISTILL", 1.0);
  r.cascade.adversarial_weight = Env("ADV", 1.0);
  r.seed = 4;
  UnlearnResult res = Unlearn(world.base, *world.evaluator, r, &images, world.test,
    [](const Progress& p){ if (p.phase == Phase::kUnlearning && p.iteration % 10 == 0) std::printf("  it %lld %.1fs auc %.3f logan %.3f\n", (long long)p.iteration, p.seconds, p.auc_u, p.logan_auc); });
  std::printf("%s\n", res.report.at("trace").Dump().c_str());
  std::printf("seconds %s inv mse %.4f\n", res.report.at("seconds").Dump().c_str(), res.inversion.mean_mse);
  auto fd = [&](models::Generator g) {
    torch::NoGradGuard ng; torch::manual_seed(1);
    torch::Tensor fake = g->forward(torch::randn({retained.size(), g->config().z_dim}), retained.labels, models::NoiseMode::kConst);
    return metrics::FrechetDistance(metrics::ComputeStats(world.evaluator->Features(fake.clamp(-1, 1))), metrics::ComputeStats(world.evaluator->Features(retained.images)));
  };
  std::printf("FD_l %.3f -> %.3f reached %d\n", fd(world.base.generator), fd(res.generator), int(res.destination_reached));
}
}  // namespace
}  // namespace lethe::unlearn
namespace lethe::unlearn {
namespace {
TEST(ZZExperiment, DISABLED_Class) {
  auto& world = testing::GetWorld();
  const int64_t cu = int64_t(Env("CU", 2));
  data::Dataset forget = world.train.Subset(world.train.IndicesOfClass(cu));
  data::Dataset retained = world.train.Without(IdsOf(forget));
  RetainedImages images(retained, IdsOf(forget), forget.size(), 9, torch::kCPU);
  UnlearnRequest r;
  r.kind = RequestKind::kClass;
  r.forget_class = cu;
  r.forget = forget;
  r.mode = Env("ZERO", 0) > 0 ? Mode::kZeroShot : Mode::kFewShot;
  r.latents = Env("INVERTED", 0) > 0 ? LatentSource::kInverted : LatentSource::kSampled;
  r.substitute.kind = Env("OTHER", 1) > 0 ? SubstituteKind::kOtherClass : SubstituteKind::kAverage;
  r.cascade.zeta = Env("ZETA", 0.1);
  r.cascade.lr = Env("LR", 0);
  r.cascade.zeta_on_logit = Env("LOGIT", 0) > 0;
  r.cascade.batch = int64_t(Env("BATCH", 32));
  r.cascade.alpha_pixel = Env("APIX", 1.0);
  r.cascade.alpha_perceptual = Env("APER", 0.5);
  r.cascade.eval_every = int64_t(Env("EVERY", 10));
  r.cascade.eval_samples = 128;
  r.cascade.fd_samples = 128;
  r.cascade.max_iterations = int64_t(Env("ITERS", 100));
  r.inversion.steps = int64_t(Env("INV", 40));
  r.destination.class_separation_fd = metrics::ClassSeparationFd(world.train, *world.evaluator, int(cu));
  r.seed = 4;
  std::printf("separation %.3f\n", r.destination.class_separation_fd);
  UnlearnResult res = Unlearn(world.base, *world.evaluator, r, &images, world.test,
    [](const Progress& p){ if (p.phase == Phase::kUnlearning && p.iteration % 10 == 0) std::printf("  it %lld %.1fs auc %.3f logan %.3f fd_u %.3f\n", (long long)p.iteration, p.seconds, p.auc_u, p.logan_auc, p.fd_u); });
  std::printf("initial %s\n", res.report.at("probe").at("initial").Dump().c_str());
  std::printf("seconds %s reached %d\n", res.report.at("seconds").Dump().c_str(), int(res.destination_reached));
}
}  // namespace
}  // namespace lethe::unlearn
namespace lethe::unlearn {
namespace {
TEST(ZZExperiment, DISABLED_SmallSpeed) {
  models::ConfigureThreads(int(Env("THREADS", 2)));
  auto cfg = models::ModelConfig::Preset("small", 32, 1, 10);
  models::Checkpoint ck;
  ck.config = cfg;
  torch::manual_seed(0);
  ck.generator = models::Generator(cfg);
  ck.discriminator = models::Discriminator(cfg);
  ck.manifest = Json::Object();
  const int64_t n = 2000;
  data::Dataset all;
  all.name = "random";
  all.images = torch::rand({n, 1, 32, 32}) * 2 - 1;
  all.labels = torch::arange(n) % 10;
  all.num_classes = 10;
  for (int64_t i = 0; i < n; ++i) { all.ids.push_back("train/" + std::to_string(i)); all.hashes.push_back("h"); }
  std::vector<int64_t> f; for (int64_t i = 0; i < int64_t(Env("NF", 64)); ++i) f.push_back(i);
  data::Dataset forget = all.Subset(f);
  data::Dataset retained = all.Without(IdsOf(forget));
  metrics::Evaluator ev(metrics::EvaluatorConfig{32, 1, 10, 16, 128}, torch::kCPU);
  RetainedImages images(retained, IdsOf(forget), forget.size(), 9, torch::kCPU);
  UnlearnRequest r;
  r.forget = forget;
  r.mode = Env("ZERO", 0) > 0 ? Mode::kZeroShot : Mode::kFewShot;
  r.cascade.max_iterations = int64_t(Env("ITERS", 20));
  r.cascade.eval_every = 10;
  r.cascade.learning_steps = int64_t(Env("LSTEPS", 1));
  r.cascade.batch = int64_t(Env("BATCH", 0));
  r.inversion.steps = int64_t(Env("INV", 20));
  r.destination.auc_threshold = 1.0;
  UnlearnResult res = Unlearn(ck, ev, r, &images, all.Subset({}));
  const double it = double(res.cascade.iterations);
  std::printf("small nf=%lld: inversion %.2f s (%.1f ms/step), cascade %.1f ms/it, eval %.2f s/check\n", (long long)forget.size(),
              res.inversion.seconds, 1000 * res.inversion.seconds / r.inversion.steps, 1000 * res.cascade.seconds_unlearning / it,
              res.cascade.seconds_evaluation / double(res.cascade.trace.size()));
}
}  // namespace
}  // namespace lethe::unlearn
