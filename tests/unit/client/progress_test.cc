#include "client/progress.h"

#include <gtest/gtest.h>

namespace lethe::cli {
namespace {

using lethe::v1::ForgetRequest;

TEST(EtaTest, ExtrapolatesTheRateOfTheCurrentPhase) {
  EtaEstimator eta;
  EXPECT_FALSE(eta.SecondsLeft().has_value());
  eta.Observe(lethe::v1::PHASE_UNLEARNING, 0.10, 100);
  EXPECT_FALSE(eta.SecondsLeft().has_value());          // one point: no rate yet
  eta.Observe(lethe::v1::PHASE_UNLEARNING, 0.30, 110);  // 0.02 per second
  ASSERT_TRUE(eta.SecondsLeft().has_value());
  EXPECT_NEAR(*eta.SecondsLeft(), 35.0, 1e-9);  // 0.7 left
  // A new phase restarts the estimate.
  eta.Observe(lethe::v1::PHASE_EVALUATING, 0.0, 120);
  EXPECT_FALSE(eta.SecondsLeft().has_value());
  eta.Observe(lethe::v1::PHASE_EVALUATING, 0.5, 121);
  EXPECT_NEAR(*eta.SecondsLeft(), 1.0, 1e-9);
}

TEST(EtaTest, NoEstimateWithoutProgress) {
  EtaEstimator eta;
  eta.Observe(lethe::v1::PHASE_INVERTING, 0.2, 0);
  eta.Observe(lethe::v1::PHASE_INVERTING, 0.2, 50);
  EXPECT_FALSE(eta.SecondsLeft().has_value());
  eta.Observe(lethe::v1::PHASE_INVERTING, 0.1, 60);  // went backwards: restart
  EXPECT_FALSE(eta.SecondsLeft().has_value());
}

TEST(ProgressBarTest, FillsProportionally) {
  EXPECT_EQ(ProgressBar(0, 10), "[----------]");
  EXPECT_EQ(ProgressBar(0.5, 10), "[#####-----]");
  EXPECT_EQ(ProgressBar(1.0, 4), "[####]");
  EXPECT_EQ(ProgressBar(7, 4), "[####]");
  EXPECT_EQ(ProgressBar(-1, 4), "[----]");
}

TEST(WatchLineTest, RunningWithBarMetricsAndEta) {
  ForgetRequest r;
  r.set_state(lethe::v1::REQUEST_STATE_RUNNING);
  r.mutable_progress()->set_phase(lethe::v1::PHASE_UNLEARNING);
  r.mutable_progress()->set_fraction(0.48);
  r.mutable_progress()->set_iteration(480);
  r.mutable_progress()->set_iteration_budget(1000);
  (*r.mutable_progress()->mutable_metrics())["auc_u"] = 0.74;
  (*r.mutable_progress()->mutable_metrics())["fd_l"] = 3.25;
  EXPECT_EQ(FormatWatchLine(r, 65.0, 10),
            "running unlearning [####------]  48% iteration 480/1000 auc_u=0.74 fd_l=3.25 "
            "ETA 1m05s");
  EXPECT_EQ(FormatWatchLine(r, std::nullopt, 0),
            "running unlearning  48% iteration 480/1000 auc_u=0.74 fd_l=3.25");
}

TEST(WatchLineTest, TerminalStates) {
  ForgetRequest done;
  done.set_state(lethe::v1::REQUEST_STATE_COMPLETED);
  done.mutable_result()->set_model_version_id(7);
  done.mutable_result()->set_model_version_sha256(std::string(64, 'f'));
  EXPECT_EQ(FormatWatchLine(done, std::nullopt, 10), "completed: version 7 (sha256 ffffffffffff)");
  ForgetRequest failed;
  failed.set_state(lethe::v1::REQUEST_STATE_FAILED);
  failed.mutable_result()->set_error("destination not reached");
  EXPECT_EQ(FormatWatchLine(failed, std::nullopt, 0), "failed: destination not reached");
  ForgetRequest queued;
  queued.set_state(lethe::v1::REQUEST_STATE_QUEUED);
  EXPECT_EQ(FormatWatchLine(queued, std::nullopt, 0), "queued");
}

}  // namespace
}  // namespace lethe::cli
