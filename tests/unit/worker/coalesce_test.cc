#include "worker/coalesce.h"

#include <gtest/gtest.h>

namespace lethe::worker {
namespace {

QueuedRequest Items(const std::string& id, int64_t n, const std::string& settings = "s") {
  return {id, false, settings, n};
}
QueuedRequest Class(const std::string& id) { return {id, true, "s", 1}; }

using Ids = std::vector<std::string>;

TEST(Coalesce, EmptyQueueGivesEmptyBatch) {
  Batch b = PlanBatch({}, 10);
  EXPECT_TRUE(b.request_ids.empty());
  EXPECT_EQ(b.items, 0);
}

TEST(Coalesce, ItemRequestsWithTheSameSettingsShareOneJob) {
  Batch b = PlanBatch({Items("a", 3), Items("b", 4), Items("c", 2)}, 100);
  EXPECT_EQ(b.request_ids, (Ids{"a", "b", "c"}));
  EXPECT_EQ(b.items, 9);
}

TEST(Coalesce, BatchLimitCountsItemsAndSkipsWhatDoesNotFit) {
  Batch b = PlanBatch({Items("a", 5), Items("b", 6), Items("c", 5), Items("d", 1)}, 10);
  EXPECT_EQ(b.request_ids, (Ids{"a", "c"}));
  EXPECT_EQ(b.items, 10);
}

TEST(Coalesce, OldestRequestIsTakenEvenWhenLargerThanTheLimit) {
  Batch b = PlanBatch({Items("big", 50), Items("small", 1)}, 10);
  EXPECT_EQ(b.request_ids, (Ids{"big"}));
  EXPECT_EQ(b.items, 50);
}

TEST(Coalesce, ClassRequestRunsAlone) {
  EXPECT_EQ(PlanBatch({Class("k"), Items("a", 1)}, 100).request_ids, (Ids{"k"}));
  // ...and never joins an item batch.
  EXPECT_EQ(PlanBatch({Items("a", 1), Class("k"), Items("b", 1)}, 100).request_ids,
            (Ids{"a", "b"}));
  EXPECT_EQ(PlanBatch({Class("k1"), Class("k2")}, 100).request_ids, (Ids{"k1"}));
}

TEST(Coalesce, DifferentSettingsWaitForTheirOwnJob) {
  Batch b = PlanBatch({Items("a", 1, "few|average|{}"), Items("b", 1, "zero|average|{}"),
                       Items("c", 1, "few|average|{}")},
                      100);
  EXPECT_EQ(b.request_ids, (Ids{"a", "c"}));
}

TEST(Coalesce, NonPositiveLimitActsAsOne) {
  EXPECT_EQ(PlanBatch({Items("a", 1), Items("b", 1)}, 0).request_ids, (Ids{"a"}));
}

TEST(Coalesce, SettingsKeySeparatesEveryField) {
  EXPECT_EQ(SettingsKey("few_shot", "average", "{}"), SettingsKey("few_shot", "average", "{}"));
  EXPECT_NE(SettingsKey("few_shot", "average", "{}"), SettingsKey("zero_shot", "average", "{}"));
  EXPECT_NE(SettingsKey("few_shot", "average", "{}"), SettingsKey("few_shot", "truncation", "{}"));
  EXPECT_NE(SettingsKey("few_shot", "average", "{}"),
            SettingsKey("few_shot", "average", "{\"fake_label\":0.5}"));
}

}  // namespace
}  // namespace lethe::worker
