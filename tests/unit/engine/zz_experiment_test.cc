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
  r.seed = 4;
  UnlearnResult res = Unlearn(world.base, *world.evaluator, r, &images, world.test,
    [](const Progress& p){ if (p.phase == Phase::kUnlearning && p.iteration % 10 == 0) std::printf("  it %lld %.1fs auc %.3f logan %.3f\n", (long long)p.iteration, p.seconds, p.auc_u, p.logan_auc); });
  std::printf("%s\n", res.report.at("trace").Dump().c_str());
  std::printf("seconds %s inv mse %.4f\n", res.report.at("seconds").Dump().c_str(), res.inversion.mean_mse);
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
