#include "worker/job_inputs.h"

#include <gtest/gtest.h>

namespace lethe::worker {
namespace {

RequestItemInput Item(const std::string& id, const std::string& hash) {
  RequestItemInput it;
  if (!id.empty()) it.item_id = id;
  it.sha256 = hash;
  return it;
}

TEST(ForgottenItems, DeduplicatedAcrossCoalescedRequestsAndAttributedToTheFirst) {
  RequestInput a;
  a.id = "req-a";
  a.items = {Item("train/1", "h1"), Item("train/2", "h2"), Item("", "u1")};
  RequestInput b;
  b.id = "req-b";
  b.items = {Item("train/2", "h2"), Item("train/3", "h3"), Item("", "u1"), Item("", "u2")};
  RequestInput cls;
  cls.id = "req-class";
  cls.is_class = true;
  cls.class_label = 4;

  std::vector<ForgottenItem> got = ForgottenItemsOf({a, b, cls});
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(*got[0].item_id, "train/1");
  EXPECT_EQ(got[0].request_id, "req-a");
  EXPECT_EQ(*got[1].item_id, "train/2");
  EXPECT_EQ(got[1].request_id, "req-a");
  EXPECT_FALSE(got[2].item_id.has_value());  // unmatched upload, by hash
  EXPECT_EQ(got[2].sha256, "u1");
  EXPECT_EQ(*got[3].item_id, "train/3");
  EXPECT_EQ(got[3].request_id, "req-b");
  EXPECT_EQ(got[4].sha256, "u2");
  EXPECT_EQ(got[4].request_id, "req-b");
}

}  // namespace
}  // namespace lethe::worker
