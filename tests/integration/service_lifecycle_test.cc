// Reading, paging, cancelling, watching and extending forget requests.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/base/sha256.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

TEST_F(ServiceTest, PagingWalksEveryRequestOnceWithOpaqueStableTokens) {
  std::string token = CreateTokenCli(s_->db.url(), s_->dir.path(), "dpo", "pager");
  std::set<std::string> submitted;
  for (int i = 0; i < 7; ++i) {
    pb::ForgetRequest r;
    ASSERT_TRUE(
        Submit(token, ItemsRequest(s_->model.name, {"train/" + std::to_string(100 + i)}), &r).ok());
    submitted.insert(r.id());
  }
  pb::ListForgetRequestsRequest req;
  req.set_page_size(3);
  std::set<std::string> seen;
  std::vector<std::string> order;
  int pages = 0;
  std::string first_page_token;
  do {
    pb::ListForgetRequestsResponse resp;
    grpc::Status st = s_->unlearning->ListForgetRequests(Ctx(token).get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    EXPECT_LE(resp.forget_requests_size(), 3);
    for (const auto& r : resp.forget_requests()) {
      EXPECT_TRUE(seen.insert(r.id()).second) << "seen twice: " << r.id();
      order.push_back(r.id());
      EXPECT_EQ(r.items_size(), 0);  // lists leave items out
      EXPECT_EQ(r.item_count(), 1);
    }
    if (!resp.next_page_token().empty()) {
      // Opaque: no raw ids or timestamps in the token.
      for (const auto& r : resp.forget_requests()) {
        EXPECT_EQ(resp.next_page_token().find(r.id()), std::string::npos);
      }
      if (first_page_token.empty()) first_page_token = resp.next_page_token();
    }
    req.set_page_token(resp.next_page_token());
    // New requests arriving meanwhile do not shift later pages (keyset paging).
    if (pages == 1) {
      pb::ForgetRequest late;
      ASSERT_TRUE(Submit(token, ItemsRequest(s_->model.name, {"train/150"}), &late).ok());
    }
  } while (!req.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, submitted);
  // Newest first.
  EXPECT_EQ(order.size(), 7u);

  // Stable: the same token gives the same page again.
  pb::ListForgetRequestsRequest again;
  again.set_page_size(3);
  again.set_page_token(first_page_token);
  pb::ListForgetRequestsResponse a, b;
  ASSERT_TRUE(s_->unlearning->ListForgetRequests(Ctx(token).get(), again, &a).ok());
  ASSERT_TRUE(s_->unlearning->ListForgetRequests(Ctx(token).get(), again, &b).ok());
  ASSERT_EQ(a.forget_requests_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.forget_requests(i).id(), b.forget_requests(i).id());
    EXPECT_EQ(a.forget_requests(i).id(), order[3 + i]);
  }
  // A token used with other filters, or garbage, is refused.
  again.set_model(s_->model.name);
  pb::ListForgetRequestsResponse c;
  grpc::Status st = s_->unlearning->ListForgetRequests(Ctx(token).get(), again, &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("issued for different filters"), std::string::npos);
  again.set_page_token("not-a-token!");
  st = s_->unlearning->ListForgetRequests(Ctx(token).get(), again, &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailOf(st).reason(), "INVALID_PAGE_TOKEN");
  again.set_page_token("");
  again.set_page_size(-1);
  st = s_->unlearning->ListForgetRequests(Ctx(token).get(), again, &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("page_size: -1 is negative"), std::string::npos);
}

TEST_F(ServiceTest, ListFiltersByStateModelAndRequester) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->service, ItemsRequest(s_->model.name, {"train/160"}), &r).ok());
  pb::ListForgetRequestsRequest req;
  req.set_requester("svc-photos");
  req.set_state(pb::REQUEST_STATE_QUEUED);
  pb::ListForgetRequestsResponse resp;
  ASSERT_TRUE(s_->unlearning->ListForgetRequests(Ctx(s_->op).get(), req, &resp).ok());
  ASSERT_GE(resp.forget_requests_size(), 1);
  for (const auto& fr : resp.forget_requests()) EXPECT_EQ(fr.requester(), "svc-photos");
  req.set_state(pb::REQUEST_STATE_COMPLETED);
  ASSERT_TRUE(s_->unlearning->ListForgetRequests(Ctx(s_->op).get(), req, &resp).ok());
  EXPECT_EQ(resp.forget_requests_size(), 0);
}

TEST_F(ServiceTest, CancelQueuedRequestDropsUploadsAndIsAudited) {
  auto req = ItemsRequest(s_->model.name, {});
  req.mutable_items()->add_images()->set_png(FakePng(61));
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, req, &r).ok());
  pb::CancelForgetRequestRequest cancel;
  cancel.set_id(r.id());
  cancel.set_reason("submitted by mistake");
  pb::ForgetRequest cancelled;
  grpc::Status st = s_->unlearning->CancelForgetRequest(Ctx(s_->dpo).get(), cancel, &cancelled);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cancelled.state(), pb::REQUEST_STATE_CANCELLED);
  EXPECT_TRUE(cancelled.has_completed_at());
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM request_items WHERE image IS NOT NULL AND "
                         "request_id = '" +
                         r.id() + "'"),
            "0");
  // The audit log commits to the free-text reason by hash; the text stays on the request.
  EXPECT_EQ(s_->db.Query("SELECT payload->>'reason_sha256' FROM audit_log WHERE action = "
                         "'request.cancelled' AND request_id = '" +
                         r.id() + "'"),
            Sha256Hex("submitted by mistake"));
  EXPECT_EQ(s_->db.Query("SELECT cancel_reason FROM forget_requests WHERE id = '" + r.id() + "'"),
            "submitted by mistake");
  // Cancelling again: it is finished.
  st = s_->unlearning->CancelForgetRequest(Ctx(s_->dpo).get(), cancel, &cancelled);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("is already cancelled"), std::string::npos);
}

TEST_F(ServiceTest, CancelRunningRequestOnlyRequestsCancellation) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/62"}), &r).ok());
  s_->db.Exec("UPDATE forget_requests SET state = 'running', phase = 'unlearning' WHERE id = '" +
              r.id() + "'");
  pb::CancelForgetRequestRequest cancel;
  cancel.set_id(r.id());
  pb::ForgetRequest out;
  ASSERT_TRUE(s_->unlearning->CancelForgetRequest(Ctx(s_->dpo).get(), cancel, &out).ok());
  EXPECT_EQ(out.state(), pb::REQUEST_STATE_RUNNING);
  EXPECT_TRUE(out.cancel_requested());
  EXPECT_EQ(out.progress().phase(), pb::PHASE_UNLEARNING);
}

TEST_F(ServiceTest, WatchStreamsProgressAndEndsAtTerminalState) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/63"}), &r).ok());
  std::vector<pb::ForgetRequest> updates;
  std::thread worker([&] {
    // Plays the worker: running with progress, then completed.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s_->db.Exec(
        "UPDATE forget_requests SET state = 'running', phase = 'unlearning', progress = "
        "'{\"phase\": \"unlearning\", \"fraction\": 0.5, \"iteration\": 20, "
        "\"iteration_budget\": 40, \"metrics\": {\"auc_u\": 0.71}}' WHERE id = '" +
        r.id() + "'");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s_->db.Exec(
        "UPDATE forget_requests SET state = 'completed', completed_at = now(), result = "
        "'{\"model_version\": 7, \"report\": {\"auc_u\": 0.83}}' WHERE id = '" +
        r.id() + "'");
  });
  pb::WatchForgetRequestRequest w;
  w.set_id(r.id());
  auto ctx = Ctx(s_->dpo, 20000);
  auto reader = s_->unlearning->WatchForgetRequest(ctx.get(), w);
  pb::ForgetRequest msg;
  while (reader->Read(&msg)) updates.push_back(msg);
  grpc::Status st = reader->Finish();
  worker.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_GE(updates.size(), 3u);
  EXPECT_EQ(updates.front().state(), pb::REQUEST_STATE_QUEUED);
  bool saw_progress = false;
  for (const auto& u : updates) {
    if (u.state() == pb::REQUEST_STATE_RUNNING) {
      saw_progress = true;
      EXPECT_DOUBLE_EQ(u.progress().fraction(), 0.5);
      EXPECT_EQ(u.progress().iteration(), 20);
      EXPECT_DOUBLE_EQ(u.progress().metrics().at("auc_u"), 0.71);
    }
  }
  EXPECT_TRUE(saw_progress);
  EXPECT_EQ(updates.back().state(), pb::REQUEST_STATE_COMPLETED);
  EXPECT_EQ(updates.back().result().model_version_id(), 7);
}

TEST_F(ServiceTest, WatchHonoursTheClientDeadlineAndCancellation) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/64"}), &r).ok());
  pb::WatchForgetRequestRequest w;
  w.set_id(r.id());
  auto start = std::chrono::steady_clock::now();
  auto ctx = Ctx(s_->dpo, 700);
  auto reader = s_->unlearning->WatchForgetRequest(ctx.get(), w);
  pb::ForgetRequest msg;
  int n = 0;
  while (reader->Read(&msg)) ++n;
  grpc::Status st = reader->Finish();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  auto ctx2 = Ctx(s_->dpo, 20000);
  auto reader2 = s_->unlearning->WatchForgetRequest(ctx2.get(), w);
  ASSERT_TRUE(reader2->Read(&msg));
  start = std::chrono::steady_clock::now();
  ctx2->TryCancel();
  while (reader2->Read(&msg)) {
  }
  EXPECT_EQ(reader2->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ServiceTest, ExtendDeadlineMovesDueDateAndIsRecorded) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/65"}), &r).ok());
  pb::ExtendDeadlineRequest ext;
  ext.set_id(r.id());
  ext.set_extra_days(30);
  ext.set_reason("Art. 12(3): number of requests");
  pb::ForgetRequest out;
  grpc::Status st = s_->unlearning->ExtendDeadline(Ctx(s_->op).get(), ext, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.due_at().seconds() - r.due_at().seconds(), 30 * 24 * 3600);
  EXPECT_EQ(out.deadline_extension_reason(), "Art. 12(3): number of requests");
  EXPECT_EQ(s_->db.Query("SELECT payload->>'extra_days' FROM audit_log WHERE action = "
                         "'deadline.extended' AND request_id = '" +
                         r.id() + "'"),
            "30");
  ext.set_extra_days(31);  // 61 > 60 days in total
  st = s_->unlearning->ExtendDeadline(Ctx(s_->op).get(), ext, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("at most 60 days in total"), std::string::npos);
  ext.set_extra_days(0);
  st = s_->unlearning->ExtendDeadline(Ctx(s_->op).get(), ext, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ext.set_extra_days(5);
  ext.clear_reason();
  st = s_->unlearning->ExtendDeadline(Ctx(s_->op).get(), ext, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("reason: is required"), std::string::npos);
}

TEST_F(ServiceTest, GetRejectsMalformedAndUnknownIds) {
  pb::GetForgetRequestRequest get;
  get.set_id("not-a-uuid");
  pb::ForgetRequest r;
  grpc::Status st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("id: is not a UUID"), std::string::npos);
  get.set_id("00000000-0000-4000-8000-000000000001");
  st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace lethe::testing
