#include "worker/lease_keeper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace lethe::worker {
namespace {

void WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 400 && !cond(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(LeaseKeeper, RenewsUntilStopped) {
  std::atomic<int> beats{0};
  CancelToken token;
  LeaseKeeper k(
      [&]() -> absl::StatusOr<HeartbeatResult> {
        ++beats;
        return HeartbeatResult{};
      },
      0.01, 1.0, &token);
  k.Start();
  WaitFor([&] { return beats >= 3; });
  k.Stop();
  int after_stop = beats;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GE(after_stop, 3);
  EXPECT_EQ(beats, after_stop);  // no renewal after Stop()
  EXPECT_FALSE(k.lost());
  EXPECT_FALSE(token.cancelled());
}

TEST(LeaseKeeper, LostLeaseCancelsTheRun) {
  CancelToken token;
  LeaseKeeper k(
      []() -> absl::StatusOr<HeartbeatResult> {
        HeartbeatResult r;
        r.lost = true;
        return r;
      },
      0.01, 1.0, &token);
  k.Start();
  WaitFor([&] { return token.cancelled(); });
  EXPECT_TRUE(k.lost());
  EXPECT_TRUE(token.cancelled());
  EXPECT_FALSE(k.cancel_requested());
}

TEST(LeaseKeeper, RequestedCancellationCancelsTheRun) {
  CancelToken token;
  LeaseKeeper k(
      []() -> absl::StatusOr<HeartbeatResult> {
        HeartbeatResult r;
        r.cancel_requested = true;
        return r;
      },
      0.01, 1.0, &token);
  k.Start();
  WaitFor([&] { return token.cancelled(); });
  k.Stop();
  EXPECT_TRUE(k.cancel_requested());
  EXPECT_FALSE(k.lost());
}

TEST(LeaseKeeper, DatabaseOutageLongerThanTheLeaseCountsAsLost) {
  CancelToken token;
  std::atomic<int> calls{0};
  auto start = std::chrono::steady_clock::now();
  LeaseKeeper k(
      [&]() -> absl::StatusOr<HeartbeatResult> {
        ++calls;
        return absl::UnavailableError("db down");
      },
      0.01, 0.1, &token);
  k.Start();
  WaitFor([&] { return token.cancelled(); });
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  k.Stop();
  EXPECT_TRUE(k.lost());
  EXPECT_GE(calls, 1);
  EXPECT_GE(waited, 0.1);  // not before a whole lease went by without a renewal
}

}  // namespace
}  // namespace lethe::worker
