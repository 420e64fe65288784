#include "client/commands/submit.h"

#include <gtest/gtest.h>

#include <map>

#include "client/request_id.h"

namespace lethe::cli {
namespace {

constexpr char kId[] = "123e4567-e89b-42d3-a456-426614174000";
const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "rest-of-file";

struct FakeFiles {
  std::map<std::string, std::string> files;
  FileReader reader() {
    return [this](const std::string& path) -> absl::StatusOr<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return absl::NotFoundError("cannot open " + path);
      return it->second;
    };
  }
};

absl::StatusOr<lethe::v1::SubmitForgetRequestRequest> Build(bool items,
                                                            const std::vector<std::string>& argv,
                                                            FakeFiles* files = nullptr) {
  FakeFiles none;
  auto parsed = ParseFlags(SubmitFlags(items), argv);
  if (!parsed.ok()) return parsed.status();
  return BuildSubmitRequest(items, *parsed, kId, (files ? files : &none)->reader());
}

TEST(SubmitTest, ItemsFromFlagsFileAndImages) {
  FakeFiles files;
  files.files["ids.txt"] = "# ticket 42\ntrain/3\ntrain/4\n";
  files.files["/tmp/me.png"] = kPng;
  auto req = Build(true,
                   {"--model", "fmnist", "--item", "train/1", "train/2", "--items-file", "ids.txt",
                    "--image", "/tmp/me.png", "--forget-unmatched"},
                   &files);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->request_id(), kId);
  EXPECT_EQ(req->model(), "fmnist");
  ASSERT_TRUE(req->has_items());
  EXPECT_EQ(req->items().item_ids_size(), 4);
  EXPECT_EQ(req->items().item_ids(2), "train/3");
  ASSERT_EQ(req->items().images_size(), 1);
  EXPECT_EQ(req->items().images(0).name(), "me.png");
  EXPECT_EQ(req->items().images(0).png(), kPng);
  EXPECT_TRUE(req->forget_unmatched_images());
  EXPECT_FALSE(req->has_hyperparameters());  // nothing set: the engine's defaults
}

TEST(SubmitTest, HyperparametersAndEnums) {
  auto req = Build(true, {"--model",
                          "m",
                          "--item",
                          "a",
                          "--mode",
                          "zero-shot",
                          "--substitute",
                          "projection",
                          "--fake-label",
                          "-1",
                          "--alpha-pixel",
                          "0.5",
                          "--alpha-perceptual",
                          "0",
                          "--destination",
                          "non-member",
                          "--destination-threshold",
                          "0.05",
                          "--iteration-budget",
                          "300",
                          "--truncation-psi",
                          "0.7",
                          "--fake-label-target",
                          "logit",
                          "--legal-ground",
                          "consent-withdrawn",
                          "--subject",
                          "ticket-9"});
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->mode(), lethe::v1::FORGET_MODE_ZERO_SHOT);
  EXPECT_EQ(req->substitute(), lethe::v1::SUBSTITUTE_PROJECTION);
  const auto& h = req->hyperparameters();
  EXPECT_DOUBLE_EQ(h.fake_label(), -1);
  EXPECT_DOUBLE_EQ(h.alpha_pixel(), 0.5);
  ASSERT_TRUE(h.has_alpha_perceptual());  // an explicit 0 is sent, not dropped
  EXPECT_DOUBLE_EQ(h.alpha_perceptual(), 0);
  EXPECT_EQ(h.destination(), lethe::v1::DESTINATION_POLICY_NON_MEMBER);
  EXPECT_DOUBLE_EQ(h.destination_threshold(), 0.05);
  EXPECT_EQ(h.iteration_budget(), 300);
  EXPECT_DOUBLE_EQ(h.truncation_psi(), 0.7);
  EXPECT_EQ(h.fake_label_target(), lethe::v1::FAKE_LABEL_TARGET_LOGIT);
  EXPECT_EQ(req->legal_ground(), lethe::v1::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN);
  EXPECT_EQ(req->subject_reference(), "ticket-9");
}

TEST(SubmitTest, DestinationPaperDependsOnTheKind) {
  auto item = Build(true, {"--model", "m", "--item", "a", "--destination", "paper"});
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->hyperparameters().destination(), lethe::v1::DESTINATION_POLICY_FORGET_AUC);
  auto cls = Build(false, {"--model", "m", "--class", "3", "--destination", "paper"});
  ASSERT_TRUE(cls.ok());
  EXPECT_EQ(cls->hyperparameters().destination(), lethe::v1::DESTINATION_POLICY_CLASS_FD_RELATIVE);
  EXPECT_EQ(cls->class_target().label(), 3);
  auto absolute = Build(false, {"--model", "m", "--class", "3", "--destination", "fd-absolute"});
  ASSERT_FALSE(absolute.ok());
  EXPECT_NE(absolute.status().message().find("--destination-threshold"), std::string::npos);
}

TEST(SubmitTest, ClassSubstitutes) {
  auto ok = Build(false, {"--model", "m", "--class", "0", "--substitute", "other-class"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->substitute(), lethe::v1::SUBSTITUTE_OTHER_CLASS);
  EXPECT_FALSE(Build(false, {"--model", "m", "--class", "0", "--substitute", "projection"}).ok());
  EXPECT_FALSE(Build(true, {"--model", "m", "--item", "a", "--substitute", "other-class"}).ok());
}

void ExpectRefused(bool items, const std::vector<std::string>& argv, const std::string& needle,
                   FakeFiles* files = nullptr) {
  auto req = Build(items, argv, files);
  ASSERT_FALSE(req.ok()) << "accepted: " << testing::PrintToString(argv);
  EXPECT_NE(req.status().message().find(needle), std::string::npos)
      << req.status().message() << " lacks " << needle;
}

TEST(SubmitTest, Refusals) {
  ExpectRefused(true, {"--item", "a"}, "--model is required");
  ExpectRefused(true, {"--model", "m"}, "nothing to forget");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--request-id", "not-a-uuid"},
                "--request-id");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--forget-unmatched"},
                "--forget-unmatched applies to --image only");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--mode", "one-shot"}, "--mode");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--fake-label", "abc"}, "--fake-label");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--iteration-budget", "0"},
                "--iteration-budget");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--legal-ground", "other"},
                "--legal-ground-text");
  ExpectRefused(true, {"--model", "m", "--item", "a", "--legal-ground", "because"},
                "--legal-ground");
  ExpectRefused(false, {"--model", "m"}, "--class is required");
  ExpectRefused(false, {"--model", "m", "--class", "-1"}, "--class");
  FakeFiles files;
  files.files["empty.txt"] = "# nothing\n";
  files.files["notpng.png"] = "GIF89a";
  ExpectRefused(true, {"--model", "m", "--items-file", "empty.txt"}, "lists no item ids", &files);
  ExpectRefused(true, {"--model", "m", "--image", "notpng.png"}, "is not a PNG", &files);
  ExpectRefused(true, {"--model", "m", "--image", "missing.png"}, "cannot open missing.png",
                &files);
}

TEST(SubmitTest, ExplicitRequestIdWins) {
  auto req = Build(true, {"--model", "m", "--item", "a", "--request-id",
                          "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"});
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->request_id(), "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE");
}

TEST(RequestIdTest, RandomVersion4Uuids) {
  std::string a = NewRequestId();
  std::string b = NewRequestId();
  EXPECT_TRUE(IsUuid(a)) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');                                          // version
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);  // variant
  EXPECT_FALSE(IsUuid("123e4567e89b42d3a456426614174000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-42d3-a456-42661417400g"));
}

}  // namespace
}  // namespace lethe::cli
