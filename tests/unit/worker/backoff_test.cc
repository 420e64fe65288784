#include "worker/backoff.h"

#include <gtest/gtest.h>

namespace lethe::worker {
namespace {

TEST(Backoff, GrowsExponentiallyUpToTheCap) {
  BackoffPolicy p;
  p.initial_seconds = 0.5;
  p.multiplier = 2;
  p.max_seconds = 5;
  p.jitter = 0;
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 0, 0.3), 0.5);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 1, 0.3), 1.0);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 2, 0.3), 2.0);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 3, 0.3), 4.0);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 4, 0.3), 5.0);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 1000, 0.3), 5.0);  // no overflow
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, -3, 0.3), 0.5);
}

TEST(Backoff, JitterStaysWithinItsBand) {
  BackoffPolicy p;
  p.initial_seconds = 1;
  p.jitter = 0.2;
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 0, 0.0), 0.8);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 0, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 0, 1.0), 1.2);
  EXPECT_DOUBLE_EQ(BackoffSeconds(p, 0, 7.0), 1.2);  // clamped draw
}

TEST(Backoff, OnlyTransientErrorsAreRetried) {
  EXPECT_TRUE(IsTransient(absl::UnavailableError("db down")));
  EXPECT_TRUE(IsTransient(absl::DeadlineExceededError("timeout")));
  EXPECT_TRUE(IsTransient(absl::AbortedError("serialization")));
  EXPECT_TRUE(IsTransient(absl::ResourceExhaustedError("pool")));
  EXPECT_FALSE(IsTransient(absl::OkStatus()));
  EXPECT_FALSE(IsTransient(absl::InvalidArgumentError("bad")));
  EXPECT_FALSE(IsTransient(absl::FailedPreconditionError("lease lost")));
  EXPECT_FALSE(IsTransient(absl::InternalError("bug")));
  EXPECT_FALSE(IsTransient(absl::NotFoundError("missing")));
}

}  // namespace
}  // namespace lethe::worker
