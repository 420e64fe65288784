#include "worker/progress.h"

#include <gtest/gtest.h>

#include <vector>

namespace lethe::worker {
namespace {

TEST(ProgressThrottle, FirstPhaseChangesAndForcedAlwaysWriteOthersAtMostOncePerInterval) {
  ProgressThrottle t(0.5);
  EXPECT_TRUE(t.ShouldWrite(10.0, Phase::kInverting, false));   // first
  EXPECT_FALSE(t.ShouldWrite(10.1, Phase::kInverting, false));  // too soon
  EXPECT_FALSE(t.ShouldWrite(10.4, Phase::kInverting, false));
  EXPECT_TRUE(t.ShouldWrite(10.5, Phase::kInverting, false));   // interval passed
  EXPECT_TRUE(t.ShouldWrite(10.6, Phase::kUnlearning, false));  // phase change
  EXPECT_FALSE(t.ShouldWrite(10.7, Phase::kUnlearning, false));
  EXPECT_TRUE(t.ShouldWrite(10.8, Phase::kUnlearning, true));  // forced
}

TEST(ProgressReporter, ThrottlesToTwoWritesPerSecondAndRejectsBackwardPhases) {
  double now = 0;
  std::vector<std::pair<Phase, Json>> written;
  ProgressReporter r(
      [&](Phase p, const Json& j) {
        written.emplace_back(p, j);
        return absl::OkStatus();
      },
      0.5, [&] { return now; });
  // 100 updates over 2 seconds of one phase -> at most 5 writes (t = 0, .5, 1, 1.5, 2).
  for (int i = 0; i <= 100; ++i) {
    now = i * 0.02;
    ProgressUpdate u;
    u.phase = Phase::kUnlearning;
    u.iteration = i;
    u.budget = 100;
    ASSERT_TRUE(r.Report(u).ok());
  }
  EXPECT_LE(written.size(), 5u);
  EXPECT_GE(written.size(), 4u);
  ProgressUpdate back;
  back.phase = Phase::kInverting;
  absl::Status s = r.Report(back);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.phase(), Phase::kUnlearning);
}

TEST(ProgressUpdate, StoredFormMatchesWhatTheServerReads) {
  ProgressUpdate u;
  u.phase = Phase::kUnlearning;
  u.iteration = 40;
  u.budget = 200;
  u.eta_seconds = 12.5;
  u.metrics["auc_u"] = 0.75;
  u.metrics["bad"] = std::nan("");
  u.message = "cascade";
  Json j = u.ToJson();
  EXPECT_EQ(j.at("phase").AsString(), "unlearning");
  EXPECT_DOUBLE_EQ(j.at("fraction").AsDouble(), 0.2);
  EXPECT_EQ(j.at("iteration").AsInt(), 40);
  EXPECT_EQ(j.at("iteration_budget").AsInt(), 200);
  EXPECT_DOUBLE_EQ(j.at("eta_seconds").AsDouble(), 12.5);
  EXPECT_DOUBLE_EQ(j.at("metrics").at("auc_u").AsDouble(), 0.75);
  EXPECT_FALSE(j.at("metrics").Has("bad"));  // JSON has no NaN
  EXPECT_EQ(j.at("message").AsString(), "cascade (ETA 13 s)");
  ProgressUpdate none;
  EXPECT_FALSE(none.ToJson().Has("phase"));
  EXPECT_FALSE(none.ToJson().Has("eta_seconds"));
}

}  // namespace
}  // namespace lethe::worker
