// MatchSubmitItems: what an item forget request names, decided from the lookup rows
// alone (unknown and test-split ids, uploads matched by pixel hash, unmatched uploads,
// tombstones, and the order of the stored rows).
#include "server/submit_items.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/errors.h"

namespace lethe {
namespace {

const char kModel[] = "fmnist";

// A manifest of train/0..train/9 (sha256 "sha-N") and test/0..test/2; the pixel hash
// "px-N" matches train/N.
ItemLookup Manifest() {
  ItemLookup lookup;
  for (int i = 0; i < 10; ++i) {
    lookup.by_id["train/" + std::to_string(i)] = {"sha-" + std::to_string(i), "train"};
  }
  for (int i = 0; i < 3; ++i) {
    lookup.by_id["test/" + std::to_string(i)] = {"tsha-" + std::to_string(i), "test"};
  }
  return lookup;
}

ValidatedSubmit Items(std::vector<std::string> ids) {
  ValidatedSubmit v;
  v.model = kModel;
  v.kind = "items";
  v.item_ids = std::move(ids);
  return v;
}

void AddUpload(ValidatedSubmit* v, const std::string* png, const std::string& name = "") {
  ValidatedUpload u;
  u.name = name;
  u.png = png;
  v->uploads.push_back(u);
}

std::string Meta(const absl::Status& st, const std::string& key) {
  auto info = GetErrorInfo(st);
  if (!info) return "<no error info>";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "<missing>" : it->second;
}

TEST(MatchSubmitItemsTest, NamedTrainingIdsBecomeRowsInRequestOrder) {
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(Manifest(), Items({"train/3", "train/1"}), {}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].item_id, "train/3");
  EXPECT_EQ(s.items[0].sha256, "sha-3");
  EXPECT_EQ(s.items[0].image, nullptr);
  EXPECT_FALSE(s.items[0].upload_name.has_value());
  EXPECT_EQ(s.items[1].item_id, "train/1");
  EXPECT_EQ(s.items[1].sha256, "sha-1");
  EXPECT_EQ(s.item_count, 2);
  EXPECT_EQ(s.unmatched_image_count, 0);
}

TEST(MatchSubmitItemsTest, UnknownIdsAreNotFoundAndListed) {
  PreparedSubmit s;
  // An unknown id wins over a test-split one.
  absl::Status st = MatchSubmitItems(
      Manifest(), Items({"train/1", "train/404", "test/0", "nope/x"}), {}, kModel, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(st), "UNKNOWN_ITEMS");
  EXPECT_EQ(st.message(),
            "2 item id(s) are not in the training manifest of model \"fmnist\": "
            "\"train/404\", \"nope/x\"");
  EXPECT_EQ(Meta(st, "field"), "items.item_ids");
  EXPECT_EQ(Meta(st, "unknown_count"), "2");
  EXPECT_EQ(Meta(st, "unknown"), "train/404,nope/x");
}

TEST(MatchSubmitItemsTest, ManyUnknownIdsAreCappedInMessageAndMetadata) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back("missing/" + std::to_string(i));
  PreparedSubmit s;
  absl::Status st = MatchSubmitItems(Manifest(), Items(ids), {}, kModel, &s);
  EXPECT_EQ(ErrorReason(st), "UNKNOWN_ITEMS");
  std::string msg(st.message());
  EXPECT_NE(msg.find("\"missing/9\" (and 15 more)"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("\"missing/10\""), std::string::npos) << msg;
  EXPECT_EQ(Meta(st, "unknown_count"), "25");
  std::string listed = Meta(st, "unknown");
  EXPECT_NE(listed.find(",missing/19"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("missing/20"), std::string::npos) << listed;
}

TEST(MatchSubmitItemsTest, TestSplitIdsAreNotTrainingItems) {
  PreparedSubmit s;
  absl::Status st =
      MatchSubmitItems(Manifest(), Items({"train/1", "test/2", "test/0"}), {}, kModel, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorReason(st), "NOT_TRAINING_ITEMS");
  EXPECT_EQ(st.message(),
            "2 item id(s) belong to the test split of model \"fmnist\", which it was not "
            "trained on: \"test/2\", \"test/0\"");
  EXPECT_EQ(Meta(st, "field"), "items.item_ids");
  EXPECT_EQ(Meta(st, "items"), "test/2,test/0");
}

TEST(MatchSubmitItemsTest, UploadMatchingOneItemKeepsTheImageOnIt) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-7"] = {"train/7"};
  const std::string png = "png-bytes";
  ValidatedSubmit v = Items({});
  AddUpload(&v, &png, "holiday.png");
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-7"}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].item_id, "train/7");
  EXPECT_EQ(s.items[0].sha256, "px-7");
  EXPECT_EQ(s.items[0].upload_name, "holiday.png");
  EXPECT_EQ(s.items[0].image, &png);
  EXPECT_EQ(s.item_count, 1);
  EXPECT_EQ(s.unmatched_image_count, 0);
}

TEST(MatchSubmitItemsTest, UploadMatchingSeveralItemsNamesEachOnceAndKeepsOneImage) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-dup"] = {"train/4", "train/5", "train/6"};
  const std::string png = "png-bytes";
  ValidatedSubmit v = Items({});
  AddUpload(&v, &png);
  AddUpload(&v, &png, "again.png");  // the same picture twice adds no rows
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-dup", "px-dup"}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.items[0].item_id, "train/4");
  EXPECT_EQ(s.items[0].image, &png);
  EXPECT_FALSE(s.items[0].upload_name.has_value());
  EXPECT_EQ(s.items[1].item_id, "train/5");
  EXPECT_EQ(s.items[1].image, nullptr);
  EXPECT_EQ(s.items[2].item_id, "train/6");
  EXPECT_EQ(s.items[2].image, nullptr);
  for (const PreparedItem& item : s.items) EXPECT_EQ(item.sha256, "px-dup");
  EXPECT_EQ(s.item_count, 3);
}

TEST(MatchSubmitItemsTest, UploadOfAnAlreadyNamedItemAttachesToThatRow) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-2"] = {"train/2"};
  const std::string png = "png-bytes";
  ValidatedSubmit v = Items({"train/2"});
  AddUpload(&v, &png, "me.png");
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-2"}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].item_id, "train/2");
  EXPECT_EQ(s.items[0].sha256, "sha-2");  // the manifest's hash of the named row
  EXPECT_EQ(s.items[0].image, &png);
  EXPECT_EQ(s.items[0].upload_name, "me.png");
  EXPECT_EQ(s.item_count, 1);
}

TEST(MatchSubmitItemsTest, UploadMatchingANamedAndANewItemKeepsTheImageOnTheNewRow) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-dup"] = {"train/2", "train/8"};
  const std::string png = "png-bytes";
  ValidatedSubmit v = Items({"train/2"});
  AddUpload(&v, &png, "me.png");
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-dup"}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].item_id, "train/2");
  EXPECT_EQ(s.items[0].image, nullptr);
  EXPECT_FALSE(s.items[0].upload_name.has_value());
  EXPECT_EQ(s.items[1].item_id, "train/8");
  EXPECT_EQ(s.items[1].image, &png);
  EXPECT_EQ(s.item_count, 2);
}

TEST(MatchSubmitItemsTest, UnmatchedUploadsAreRefusedByDefault) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-1"] = {"train/1"};
  const std::string a = "a", b = "b", c = "c";
  ValidatedSubmit v = Items({});
  AddUpload(&v, &a, "face.png");
  AddUpload(&v, &b);
  AddUpload(&v, &c);
  PreparedSubmit s;
  absl::Status st = MatchSubmitItems(lookup, v, {"px-none", "px-1", "px-other"}, kModel, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(st), "UNMATCHED_IMAGES");
  EXPECT_EQ(st.message(),
            "2 uploaded image(s) match no training item of model \"fmnist\": "
            "\"images[0] (face.png)\", \"images[2]\"; set forget_unmatched_images to record "
            "them anyway");
  EXPECT_EQ(Meta(st, "field"), "items.images");
  EXPECT_EQ(Meta(st, "unmatched_count"), "2");
}

TEST(MatchSubmitItemsTest, UnmatchedUploadsAreRecordedWhenAsked) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-1"] = {"train/1"};
  const std::string a = "a", b = "b";
  ValidatedSubmit v = Items({"train/3"});
  v.forget_unmatched_images = true;
  AddUpload(&v, &a, "face.png");
  AddUpload(&v, &b);
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-none", "px-1"}, kModel, &s).ok());
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.items[0].item_id, "train/3");
  EXPECT_FALSE(s.items[1].item_id.has_value());
  EXPECT_EQ(s.items[1].sha256, "px-none");
  EXPECT_EQ(s.items[1].upload_name, "face.png");
  EXPECT_EQ(s.items[1].image, &a);
  EXPECT_EQ(s.items[2].item_id, "train/1");
  EXPECT_EQ(s.items[2].image, &b);
  EXPECT_EQ(s.unmatched_image_count, 1);
  EXPECT_EQ(s.item_count, 2);  // the unmatched upload names no item
}

TEST(MatchSubmitItemsTest, TombstonedItemsAreAlreadyForgotten) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-9"] = {"train/9"};
  lookup.tombstoned_ids = {"train/4", "train/9"};
  const std::string png = "png";
  ValidatedSubmit v = Items({"train/1", "train/4"});
  AddUpload(&v, &png);
  PreparedSubmit s;
  absl::Status st = MatchSubmitItems(lookup, v, {"px-9"}, kModel, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(st), "ALREADY_FORGOTTEN");
  EXPECT_EQ(st.message(),
            "2 item(s) of model \"fmnist\" are already forgotten: \"train/4\", \"train/9\"");
  EXPECT_EQ(Meta(st, "field"), "items");
  EXPECT_EQ(Meta(st, "items"), "train/4,train/9");
}

TEST(MatchSubmitItemsTest, UnmatchedUploadsAreReportedBeforeTombstones) {
  ItemLookup lookup = Manifest();
  lookup.tombstoned_ids = {"train/4"};
  const std::string png = "png";
  ValidatedSubmit v = Items({"train/4"});
  AddUpload(&v, &png);
  PreparedSubmit s;
  EXPECT_EQ(ErrorReason(MatchSubmitItems(lookup, v, {"px-none"}, kModel, &s)), "UNMATCHED_IMAGES");
}

TEST(MatchSubmitItemsTest, NamedIdsComeBeforeUploadsInTheRows) {
  ItemLookup lookup = Manifest();
  lookup.by_hash["px-0"] = {"train/0"};
  lookup.by_hash["px-5"] = {"train/5"};
  const std::string a = "a", b = "b";
  ValidatedSubmit v = Items({"train/9", "train/2"});
  AddUpload(&v, &a, "second.png");
  AddUpload(&v, &b, "first.png");
  PreparedSubmit s;
  ASSERT_TRUE(MatchSubmitItems(lookup, v, {"px-5", "px-0"}, kModel, &s).ok());
  std::vector<std::string> order;
  for (const PreparedItem& item : s.items) order.push_back(item.item_id.value_or("?"));
  EXPECT_EQ(order, (std::vector<std::string>{"train/9", "train/2", "train/5", "train/0"}));
  EXPECT_EQ(s.items[2].image, &a);
  EXPECT_EQ(s.items[3].image, &b);
}

TEST(MatchSubmitItemsTest, MismatchedHashCountIsAnInternalError) {
  const std::string png = "png";
  ValidatedSubmit v = Items({});
  AddUpload(&v, &png);
  PreparedSubmit s;
  EXPECT_EQ(MatchSubmitItems(Manifest(), v, {}, kModel, &s).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace lethe
