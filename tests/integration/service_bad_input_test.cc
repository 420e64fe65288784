// Table-driven bad inputs: each must fail with the exact status code and a message naming
// the problem, and must write nothing. (Invalid UTF-8 in a proto3 string field never
// reaches the service: protobuf refuses to parse the message; the UTF-8 checks of the
// validators are covered by the unit tests.)
#include <gtest/gtest.h>

#include <functional>

#include "service_fixture.h"

namespace lethe::testing {
namespace {

struct BadInput {
  const char* name;
  std::function<void(pb::SubmitForgetRequestRequest&)> mutate;
  grpc::StatusCode code;
  const char* message;  // substring of the status message
};

std::string Repeat(char c, size_t n) { return std::string(n, c); }

const std::vector<BadInput>& Cases() {
  using R = pb::SubmitForgetRequestRequest;
  static const std::vector<BadInput> cases = {
      {"missing request_id", [](R& r) { r.clear_request_id(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "request_id: is required"},
      {"request_id not a uuid", [](R& r) { r.set_request_id("12345"); },
       grpc::StatusCode::INVALID_ARGUMENT, "request_id: is not a UUID"},
      {"request_id with bad hex",
       [](R& r) { r.set_request_id("zzzzzzzz-0000-0000-0000-000000000000"); },
       grpc::StatusCode::INVALID_ARGUMENT, "request_id: is not a UUID"},
      {"missing model", [](R& r) { r.clear_model(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "model: is required"},
      {"model with upper case", [](R& r) { r.set_model("FMNIST"); },
       grpc::StatusCode::INVALID_ARGUMENT, "is not a model name"},
      {"model too long", [](R& r) { r.set_model(Repeat('a', 64)); },
       grpc::StatusCode::INVALID_ARGUMENT, "is not a model name"},
      {"no target", [](R& r) { r.clear_items(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "target: set either items or class_target"},
      {"empty items", [](R& r) { r.mutable_items()->clear_item_ids(); },
       grpc::StatusCode::INVALID_ARGUMENT, "items: names no item ids and no images"},
      {"empty item id", [](R& r) { r.mutable_items()->add_item_ids(""); },
       grpc::StatusCode::INVALID_ARGUMENT, "items.item_ids[1]: item id \"\" is empty"},
      {"item id with ..", [](R& r) { r.mutable_items()->add_item_ids("train/../etc"); },
       grpc::StatusCode::INVALID_ARGUMENT, "has a \".\" or \"..\" segment"},
      {"absolute item id", [](R& r) { r.mutable_items()->add_item_ids("/etc/passwd"); },
       grpc::StatusCode::INVALID_ARGUMENT, "must be relative"},
      {"item id with control char", [](R& r) { r.mutable_items()->add_item_ids("train/\x01x"); },
       grpc::StatusCode::INVALID_ARGUMENT, "contains a control character"},
      {"item id with backslash", [](R& r) { r.mutable_items()->add_item_ids("train\\1"); },
       grpc::StatusCode::INVALID_ARGUMENT, "contains a backslash"},
      {"item id too long", [](R& r) { r.mutable_items()->add_item_ids(Repeat('x', 257)); },
       grpc::StatusCode::INVALID_ARGUMENT, "is longer than 256 bytes"},
      {"item id with newline", [](R& r) { r.mutable_items()->add_item_ids("train/1\n"); },
       grpc::StatusCode::INVALID_ARGUMENT, "contains a control character"},
      {"item id with empty segment", [](R& r) { r.mutable_items()->add_item_ids("train//1"); },
       grpc::StatusCode::INVALID_ARGUMENT, "has an empty path segment"},
      {"duplicate item id", [](R& r) { r.mutable_items()->add_item_ids("train/1"); },
       grpc::StatusCode::INVALID_ARGUMENT, "\"train/1\" is listed twice"},
      {"too many items",
       [](R& r) {
         for (int i = 0; i < 4100; ++i) r.mutable_items()->add_item_ids("x/" + std::to_string(i));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "the limit is 4096 per request"},
      {"empty image", [](R& r) { r.mutable_items()->add_images()->set_name("a.png"); },
       grpc::StatusCode::INVALID_ARGUMENT, "items.images[0].png: is empty"},
      {"image not a png", [](R& r) { r.mutable_items()->add_images()->set_png("GIF89a....."); },
       grpc::StatusCode::INVALID_ARGUMENT, "not a valid PNG"},
      {"unknown mode", [](R& r) { r.set_mode(static_cast<pb::ForgetMode>(42)); },
       grpc::StatusCode::INVALID_ARGUMENT, "mode: unknown value 42"},
      {"unknown substitute", [](R& r) { r.set_substitute(static_cast<pb::Substitute>(9)); },
       grpc::StatusCode::INVALID_ARGUMENT, "substitute: unknown value 9"},
      {"other_class for items", [](R& r) { r.set_substitute(pb::SUBSTITUTE_OTHER_CLASS); },
       grpc::StatusCode::INVALID_ARGUMENT, "SUBSTITUTE_OTHER_CLASS applies only to class"},
      {"truncation for class",
       [](R& r) {
         r.mutable_class_target()->set_label(1);
         r.set_substitute(pb::SUBSTITUTE_TRUNCATION);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "SUBSTITUTE_TRUNCATION applies only to item"},
      {"negative class label", [](R& r) { r.mutable_class_target()->set_label(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "class_target.label: -1 is negative"},
      {"fake label above 1", [](R& r) { r.mutable_hyperparameters()->set_fake_label(1.5); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.fake_label: 1.5 is outside [-1, 1]"},
      {"fake label below -1", [](R& r) { r.mutable_hyperparameters()->set_fake_label(-2); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.fake_label: -2 is outside"},
      {"fake label NaN", [](R& r) { r.mutable_hyperparameters()->set_fake_label(std::nan("")); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.fake_label: must be a finite number"},
      {"negative alpha_pixel", [](R& r) { r.mutable_hyperparameters()->set_alpha_pixel(-0.1); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.alpha_pixel: -0.1 is outside"},
      {"infinite alpha_perceptual",
       [](R& r) { r.mutable_hyperparameters()->set_alpha_perceptual(INFINITY); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.alpha_perceptual: must be a finite"},
      {"psi equal to 1",
       [](R& r) {
         r.set_substitute(pb::SUBSTITUTE_TRUNCATION);
         r.mutable_hyperparameters()->set_truncation_psi(1.0);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.truncation_psi: 1 is outside [0, 1)"},
      {"psi without truncation", [](R& r) { r.mutable_hyperparameters()->set_truncation_psi(0.5); },
       grpc::StatusCode::INVALID_ARGUMENT, "applies only to the TRUNCATION and PROJECTION"},
      {"zero iteration budget", [](R& r) { r.mutable_hyperparameters()->set_iteration_budget(0); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.iteration_budget: 0 is outside"},
      {"class destination for items",
       [](R& r) {
         r.mutable_hyperparameters()->set_destination(pb::DESTINATION_POLICY_CLASS_FD_RELATIVE);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "applies only to class requests"},
      {"absolute FD without threshold",
       [](R& r) {
         r.mutable_class_target()->set_label(1);
         r.mutable_hyperparameters()->set_destination(pb::DESTINATION_POLICY_CLASS_FD_ABSOLUTE);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "destination_threshold: is required"},
      {"AUC threshold below 0.5",
       [](R& r) {
         r.mutable_hyperparameters()->set_destination(pb::DESTINATION_POLICY_FORGET_AUC);
         r.mutable_hyperparameters()->set_destination_threshold(0.3);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "destination_threshold: 0.3 is outside (0.5, 1]"},
      {"AUC threshold exactly 0.5 (never reachable as forgetting)",
       [](R& r) {
         r.mutable_hyperparameters()->set_destination(pb::DESTINATION_POLICY_FORGET_AUC);
         r.mutable_hyperparameters()->set_destination_threshold(0.5);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "destination_threshold: 0.5 is outside (0.5, 1]"},
      {"non-member tolerance 0.5",
       [](R& r) {
         r.mutable_hyperparameters()->set_destination(pb::DESTINATION_POLICY_NON_MEMBER);
         r.mutable_hyperparameters()->set_destination_threshold(0.5);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "destination_threshold: 0.5 is outside (0, 0.5)"},
      {"threshold without policy",
       [](R& r) { r.mutable_hyperparameters()->set_destination_threshold(0.9); },
       grpc::StatusCode::INVALID_ARGUMENT, "needs an explicit hyperparameters.destination"},
      {"missing legal ground", [](R& r) { r.clear_legal_ground(); },
       grpc::StatusCode::INVALID_ARGUMENT, "legal_ground: is required"},
      {"unknown legal ground", [](R& r) { r.set_legal_ground(static_cast<pb::LegalGround>(77)); },
       grpc::StatusCode::INVALID_ARGUMENT, "legal_ground: unknown value 77"},
      {"other ground without text", [](R& r) { r.set_legal_ground(pb::LEGAL_GROUND_OTHER); },
       grpc::StatusCode::INVALID_ARGUMENT, "legal_ground_text: is required"},
      {"legal text too long", [](R& r) { r.set_legal_ground_text(Repeat('a', 1001)); },
       grpc::StatusCode::INVALID_ARGUMENT, "legal_ground_text: is 1001 bytes; the limit is 1000"},
      {"image name too long",
       [](R& r) { r.mutable_items()->add_images()->set_name(Repeat('n', 300)); },
       grpc::StatusCode::INVALID_ARGUMENT, "items.images[0].name: is 300 bytes; the limit is 256"},
      {"legal text with escape char", [](R& r) { r.set_legal_ground_text("ok \x1b[31m"); },
       grpc::StatusCode::INVALID_ARGUMENT, "legal_ground_text: contains a control character"},
      {"subject reference too long", [](R& r) { r.set_subject_reference(Repeat('s', 300)); },
       grpc::StatusCode::INVALID_ARGUMENT, "subject_reference: is 300 bytes; the limit is 256"},
      {"subject reference with control char", [](R& r) { r.set_subject_reference("ab\ncd"); },
       grpc::StatusCode::INVALID_ARGUMENT, "subject_reference: contains a control character"},
      {"forget_unmatched for class",
       [](R& r) {
         r.mutable_class_target()->set_label(1);
         r.set_forget_unmatched_images(true);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "forget_unmatched_images: applies only to item"},
      {"unknown model", [](R& r) { r.set_model("ghost"); }, grpc::StatusCode::NOT_FOUND,
       "model \"ghost\" is not registered"},
  };
  return cases;
}

TEST_F(ServiceTest, BadInputsGetPreciseStatusAndWriteNothing) {
  ASSERT_GE(Cases().size(), 30u);
  std::string before = s_->db.Query("SELECT count(*) FROM forget_requests");
  std::string audit_before = s_->db.Query("SELECT count(*) FROM audit_log");
  for (const BadInput& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto req = ItemsRequest(s_->model.name, {"train/1"});
    c.mutate(req);
    pb::ForgetRequest r;
    grpc::Status st = Submit(s_->dpo, req, &r);
    EXPECT_EQ(st.error_code(), c.code) << st.error_message();
    EXPECT_NE(st.error_message().find(c.message), std::string::npos)
        << "message: " << st.error_message() << "\nexpected to contain: " << c.message;
    EXPECT_FALSE(DetailOf(st).reason().empty());
  }
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests"), before);
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log"), audit_before);
}

TEST_F(ServiceTest, OversizeMessageIsRejectedByTheTransport) {
  auto req = ItemsRequest(s_->model.name, {});
  // 70 MiB > --max-message-bytes (64 MiB default).
  req.mutable_items()->add_images()->set_png(std::string(70 << 20, 'x'));
  pb::ForgetRequest r;
  auto ctx = Ctx(s_->dpo, 30000);
  grpc::Status st = s_->unlearning->SubmitForgetRequest(ctx.get(), req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

}  // namespace
}  // namespace lethe::testing
