// Generator-side forgetting on the memorising tiny world (unlearn_fixture.h): a GAN trained
// many times over on 32 images remembers them, so every membership attack — the
// discriminator's (LOGAN) and both attacks on the generator (re-inversion, nearest sample)
// — tells them from never-seen images before unlearning, and the generator destination
// (the default) stops only once the re-inversion attack no longer does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "engine/metrics/registry.h"
#include "engine/unlearn/inversion.h"
#include "engine/unlearn/unlearn.h"
#include "tests/unit/engine/unlearn_fixture.h"

namespace lethe::unlearn {
namespace {

using testing::GetMemorizingWorld;

std::set<std::string> IdsOf(const data::Dataset& d) { return {d.ids.begin(), d.ids.end()}; }

// The three attacks on (g, d), members = `members`, controls = the world's test images.
Json Attacks(models::Generator g, models::Discriminator d, const data::Dataset& retained,
             const data::Dataset& members, uint64_t seed) {
  auto& world = GetMemorizingWorld();
  metrics::MetricInputs in;
  in.generator = g;
  in.discriminator = d;
  in.evaluator = world.evaluator.get();
  in.train = &retained;
  in.test = &world.test;
  in.forget = &members;
  in.max_scored = 256;
  in.score_batch = 16;
  in.seed = seed;
  in.reconstruct = ReinversionReconstructor(AttackInversionOptions(100, seed));
  in.attack_members = members.size();
  in.attack_samples_per_class = 2000;
  return metrics::EvaluateModel(
      in, {"logan_auc", "generator_whitebox_auc", "generator_blackbox_auc",
           "generator_whitebox_raw_auc"});
}

TEST(Memorizing, EveryAttackSeesTheMembersOfAMemorisingModel) {
  auto& world = GetMemorizingWorld();
  const Json a = Attacks(world.base.generator, world.base.discriminator, world.train,
                         world.train, 1);
  std::printf("memorising world: LOGAN %.3f, re-inversion %.3f (raw %.3f), nearest sample %.3f\n",
              a.at("logan_auc").AsDouble(), a.at("generator_whitebox_auc").AsDouble(),
              a.at("generator_whitebox_raw_auc").AsDouble(),
              a.at("generator_blackbox_auc").AsDouble());
  EXPECT_GT(a.at("logan_auc").AsDouble(), 0.6);
  EXPECT_GT(a.at("generator_whitebox_auc").AsDouble(), 0.6);
  EXPECT_GT(a.at("generator_blackbox_auc").AsDouble(), 0.6);
}

TEST(Memorizing, GeneratorDestinationStopsOnlyOnceTheGeneratorForgot) {
  auto& world = GetMemorizingWorld();
  data::Dataset forget = testing::ForgetItems(world.train, 2);
  data::Dataset retained = world.train.Without(IdsOf(forget));
  RetainedImages images(retained, IdsOf(forget), retained.size(), 9, torch::kCPU);
  UnlearnRequest r;
  r.kind = RequestKind::kItem;
  r.forget = forget;
  r.mode = Mode::kFewShot;
  r.cascade.g_lr = r.cascade.d_lr = 0.01;
  r.cascade.eval_every = 5;
  r.cascade.eval_samples = 64;
  r.cascade.max_iterations = 300;
  r.inversion.steps = 60;
  r.destination.attack_members = forget.size();
  r.seed = 4;
  ASSERT_EQ(r.destination.policy, DestinationPolicy::kGenerator);  // the default
  UnlearnResult res = Unlearn(world.base, *world.evaluator, r, &images, world.test);
  const Json& last = res.report.at("probe").at("final");
  std::printf("generator destination: %lld it, LOGAN %.3f -> %.3f, closer %.3f, G-AUC %.3f\n",
              (long long)res.cascade.iterations, res.cascade.initial.logan_auc,
              res.cascade.last.logan_auc, res.cascade.last.closer_to_substitute,
              res.cascade.last.generator_auc);
  ASSERT_TRUE(res.destination_reached) << res.report.at("destination").Dump();
  EXPECT_EQ(res.report.at("destination").at("policy").AsString(), "generator");
  EXPECT_EQ(res.report.at("destination").at("metric").AsString(), "generator_auc");
  EXPECT_LE(std::fabs(last.at("generator_auc").AsDouble() - 0.5), 0.1);
  EXPECT_GE(last.at("closer_to_substitute").AsDouble(), 0.9);
  EXPECT_GE(res.report.at("generator_forgetting")
                .at("closer_to_substitute_fraction")
                .at("after")
                .AsDouble(),
            0.9);
  // An attack the run never saw (other controls, other inversion seed) agrees: the
  // forgotten images are now about as hard to reproduce as never-seen ones, and much
  // harder than before.
  const Json before = Attacks(world.base.generator, world.base.discriminator, retained, forget, 7);
  const Json after = Attacks(res.generator, res.discriminator, retained, forget, 7);
  std::printf("re-inversion attack (held-out seed): %.3f -> %.3f\n",
              before.at("generator_whitebox_auc").AsDouble(),
              after.at("generator_whitebox_auc").AsDouble());
  EXPECT_LT(after.at("generator_whitebox_auc").AsDouble(),
            before.at("generator_whitebox_auc").AsDouble());
  EXPECT_LE(after.at("generator_whitebox_auc").AsDouble(), 0.75);
}

}  // namespace
}  // namespace lethe::unlearn
