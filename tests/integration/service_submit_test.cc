// Submitting forget requests through real gRPC against a real database.
#include <gtest/gtest.h>

#include <thread>

#include "engine/base/png.h"
#include "engine/base/sha256.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

TEST_F(ServiceTest, SubmitIsDurableQueuedAndReturnsDueDate) {
  pb::ForgetRequest r;
  auto req = ItemsRequest(s_->model.name, {"train/1", "train/2"});
  ASSERT_TRUE(Submit(s_->dpo, req, &r).ok());
  EXPECT_EQ(r.state(), pb::REQUEST_STATE_QUEUED);
  EXPECT_EQ(r.item_count(), 2);
  ASSERT_EQ(r.items_size(), 2);
  EXPECT_EQ(r.items(0).item_id(), "train/1");
  EXPECT_EQ(r.items(0).sha256(), FakePixelsSha256(1));
  EXPECT_EQ(r.due_at().seconds() - r.received_at().seconds(), 30 * 24 * 3600);
  EXPECT_EQ(r.requester(), "dpo-alice");
  // Subject reference is stored only as a salted hash.
  EXPECT_EQ(r.subject_hash().size(), 64u);
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE subject_hash LIKE "
                         "'%ticket-4711%' OR params::text LIKE '%ticket-4711%'"),
            "0");
  EXPECT_EQ(s_->db.Query("SELECT state FROM forget_requests WHERE id = '" + r.id() + "'"),
            "queued");
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM request_items WHERE request_id = '" + r.id() + "'"),
            "2");
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log WHERE action = 'request.received' AND "
                         "request_id = '" +
                         r.id() + "'"),
            "1");
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log WHERE payload::text LIKE "
                         "'%ticket-4711%'"),
            "0");
}

TEST_F(ServiceTest, SameIdempotencyKeyTwiceReturnsTheSameRequest) {
  auto req = ItemsRequest(s_->model.name, {"train/3", "train/4"});
  pb::ForgetRequest first, second;
  ASSERT_TRUE(Submit(s_->dpo, req, &first).ok());
  // Same body, items listed in another order: the same request.
  auto again = req;
  again.mutable_items()->clear_item_ids();
  again.mutable_items()->add_item_ids("train/4");
  again.mutable_items()->add_item_ids("train/3");
  ASSERT_TRUE(Submit(s_->dpo, again, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE idempotency_key = '" +
                         req.request_id() + "'"),
            "1");
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log WHERE action = 'request.received' AND "
                         "request_id = '" +
                         first.id() + "'"),
            "1");
}

TEST_F(ServiceTest, SameIdempotencyKeyWithDifferentBodyIsRejected) {
  auto req = ItemsRequest(s_->model.name, {"train/5"});
  pb::ForgetRequest first, second;
  ASSERT_TRUE(Submit(s_->dpo, req, &first).ok());
  auto other = req;
  other.mutable_items()->add_item_ids("train/6");
  grpc::Status st = Submit(s_->dpo, other, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find("was already used for a different forget request"),
            std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find(first.id()), std::string::npos);
  EXPECT_EQ(DetailOf(st).reason(), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(DetailOf(st).metadata().at("existing_id"), first.id());
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE idempotency_key = '" +
                         req.request_id() + "'"),
            "1");
}

TEST_F(ServiceTest, ConcurrentRetriesWithOneKeyCreateOneRequest) {
  auto req = ItemsRequest(s_->model.name, {"train/7"});
  std::vector<std::thread> threads;
  std::vector<std::string> ids(8);
  std::vector<grpc::StatusCode> codes(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      pb::ForgetRequest r;
      auto ctx = Ctx(s_->dpo);
      codes[i] = s_->unlearning->SubmitForgetRequest(ctx.get(), req, &r).error_code();
      ids[i] = r.id();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(codes[i], grpc::StatusCode::OK);
    EXPECT_EQ(ids[i], ids[0]);
  }
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE idempotency_key = '" +
                         req.request_id() + "'"),
            "1");
}

TEST_F(ServiceTest, UnknownItemIdsAreNotFoundAndListed) {
  auto req = ItemsRequest(s_->model.name, {"train/1", "train/99999", "nope/x"});
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("2 item id(s) are not in the training manifest"),
            std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find("\"train/99999\""), std::string::npos);
  EXPECT_NE(st.error_message().find("\"nope/x\""), std::string::npos);
  EXPECT_EQ(st.error_message().find("\"train/1\""), std::string::npos);
  EXPECT_EQ(DetailOf(st).reason(), "UNKNOWN_ITEMS");
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests WHERE idempotency_key = '" +
                         req.request_id() + "'"),
            "0");
}

TEST_F(ServiceTest, ManyUnknownItemIdsAreCappedInTheMessage) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back("missing/" + std::to_string(i));
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, ItemsRequest(s_->model.name, ids), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("(and 40 more)"), std::string::npos) << st.error_message();
}

TEST_F(ServiceTest, TestSplitItemsAreNotTrainingItems) {
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, ItemsRequest(s_->model.name, {"test/1"}), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("test split"), std::string::npos) << st.error_message();
}

TEST_F(ServiceTest, UploadedPngIsMatchedToTrainingItemByPixelHash) {
  auto req = ItemsRequest(s_->model.name, {});
  auto* img = req.mutable_items()->add_images();
  img->set_name("holiday.png");
  img->set_png(FakePng(42));
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(r.items_size(), 1);
  EXPECT_EQ(r.items(0).item_id(), "train/42");
  EXPECT_EQ(r.items(0).sha256(), FakePixelsSha256(42));
  EXPECT_TRUE(r.items(0).uploaded());
  EXPECT_EQ(r.image_count(), 1);
  EXPECT_EQ(r.unmatched_image_count(), 0);
  // The upload is kept until the request completes.
  EXPECT_EQ(
      s_->db.Query("SELECT length(image) FROM request_items WHERE request_id = '" + r.id() + "'"),
      std::to_string(img->png().size()));
  // Get returns the same items.
  pb::GetForgetRequestRequest get;
  get.set_id(r.id());
  pb::ForgetRequest got;
  auto ctx = Ctx(s_->dpo);
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(ctx.get(), get, &got).ok());
  ASSERT_EQ(got.items_size(), 1);
  EXPECT_EQ(got.items(0).item_id(), "train/42");
  EXPECT_EQ(got.items(0).upload_name(), "holiday.png");
}

TEST_F(ServiceTest, UnmatchedPngIsNotFoundUnlessForgetUnmatchedImages) {
  auto req = ItemsRequest(s_->model.name, {});
  req.mutable_items()->add_images()->set_png(FakePng(777777));
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("match no training item"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "UNMATCHED_IMAGES");

  req.set_request_id(NewRequestId());
  req.set_forget_unmatched_images(true);
  st = Submit(s_->dpo, req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.unmatched_image_count(), 1);
  ASSERT_EQ(r.items_size(), 1);
  EXPECT_EQ(r.items(0).item_id(), "");
  EXPECT_EQ(r.items(0).sha256(), FakePixelsSha256(777777));
}

TEST_F(ServiceTest, CorruptPngIsInvalidArgument) {
  auto req = ItemsRequest(s_->model.name, {});
  std::string png = FakePng(3);
  png.resize(png.size() - 20);  // truncated image data
  png[png.size() - 5] ^= 0x55;
  req.mutable_items()->add_images()->set_png(png);
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("items.images[0].png: not a valid PNG"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "CORRUPT_IMAGE");
}

TEST_F(ServiceTest, OversizePngIsRejectedBeforeDecoding) {
  auto req = ItemsRequest(s_->model.name, {});
  std::string png = FakePng(3);
  png += std::string(2 << 20, '\0');  // 2 MiB trailing garbage: over --max-image-bytes
  req.mutable_items()->add_images()->set_png(png);
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("bytes; the limit is 1048576"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "IMAGE_TOO_LARGE");
}

TEST_F(ServiceTest, PngOfWrongDimensionsIsRejected) {
  Image8 img;
  img.width = 32;
  img.height = 32;
  img.channels = 1;
  img.pixels.assign(32 * 32, 7);
  auto req = ItemsRequest(s_->model.name, {});
  req.mutable_items()->add_images()->set_png(EncodePng(img));
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("image is 32x32; this model's training items are 28x28"),
            std::string::npos)
      << st.error_message();
  img.width = 28;
  img.height = 28;
  img.channels = 3;
  img.pixels.assign(28 * 28 * 3, 7);
  req.set_request_id(NewRequestId());
  req.mutable_items()->mutable_images(0)->set_png(EncodePng(img));
  st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("image is in colour"), std::string::npos) << st.error_message();
}

TEST_F(ServiceTest, ClassRequestChecksLabelAgainstModel) {
  pb::SubmitForgetRequestRequest req = ItemsRequest(s_->model.name, {});
  req.clear_items();
  req.mutable_class_target()->set_label(10);
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("class_target.label: 10 is outside [0, 10)"), std::string::npos)
      << st.error_message();
  req.mutable_class_target()->set_label(3);
  req.set_substitute(pb::SUBSTITUTE_OTHER_CLASS);
  st = Submit(s_->dpo, req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.kind(), pb::FORGET_KIND_CLASS);
  EXPECT_EQ(r.class_label(), 3);
  EXPECT_EQ(r.item_count(), 30);  // 300 items, labels i % 10
}

TEST_F(ServiceTest, TombstonedItemsAreAlreadyForgotten) {
  s_->db.Exec("INSERT INTO tombstones (model, item_id, sha256) VALUES ('" + s_->model.name +
              "', 'train/9', '" + FakePixelsSha256(9) + "')");
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/8", "train/9"}), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("already forgotten: \"train/9\""), std::string::npos)
      << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "ALREADY_FORGOTTEN");
}

TEST_F(ServiceTest, UnknownModelIsNotFound) {
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, ItemsRequest("no-such-model", {"train/1"}), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("model \"no-such-model\" is not registered"),
            std::string::npos);
}

}  // namespace
}  // namespace lethe::testing
