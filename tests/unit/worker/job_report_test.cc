#include "worker/job_report.h"

#include <gtest/gtest.h>

namespace lethe::worker {
namespace {

JobInputs TwoRequestJob() {
  JobInputs in;
  in.lease = {"job-7", 2};
  in.kind = "unlearn";
  in.model.name = "fmnist";
  in.base = {41, "base-digest", "models/fmnist/41"};
  RequestInput a;
  a.id = "req-a";
  RequestInput b;
  b.id = "req-b";
  in.requests = {a, b};
  in.tombstones = {{std::string("train/9"), "h9"}, {std::nullopt, "u0"}, {std::nullopt, "u1"}};
  return in;
}

TEST(NewVersionManifest, DropsSaveCheckpointKeysAndAccumulatesForgottenHashes) {
  Json base = Json::Object();
  base["format_version"] = 1;
  base["config"] = Json::Object();
  base["w_avg"] = "w_avg.pt";
  base["files"] = Json::Object();
  base["created_at"] = "2024-01-01T00:00:00Z";
  base["dataset"] = "fashion-mnist/train";
  Json earlier = Json::Array();
  earlier.Push("h9");
  earlier.Push("h2");
  earlier.Push(3);  // not a hash: ignored
  base["forgotten_sha256"] = earlier;
  std::vector<ForgottenItem> forgotten = {{std::string("train/1"), "h1", "req-a"},
                                          {std::string("train/2"), "h2", "req-b"}};
  Json verdict = Json::Object();
  verdict["reached"] = true;

  Json m = NewVersionManifest(base, base, TwoRequestJob(), forgotten, verdict);

  for (const char* key : {"format_version", "config", "w_avg", "files", "created_at"}) {
    EXPECT_FALSE(m.Has(key)) << key;
  }
  EXPECT_EQ(m.at("dataset").AsString(), "fashion-mnist/train");
  EXPECT_EQ(m.at("parent").AsString(), "base-digest");
  // The base's hashes and the job's, sorted, each once.
  EXPECT_EQ(m.at("forgotten_sha256"), Json::ArrayOf(std::vector<std::string>{"h1", "h2", "h9"}));
  const Json& lineage = m.at("unlearning");
  EXPECT_EQ(lineage.at("job").AsString(), "job-7");
  EXPECT_EQ(lineage.at("kind").AsString(), "unlearn");
  EXPECT_EQ(lineage.at("requests"), Json::ArrayOf(std::vector<std::string>{"req-a", "req-b"}));
  EXPECT_EQ(lineage.at("destination"), verdict);
}

TEST(NewVersionManifest, FirstUnlearningStartsTheForgottenListFromTheJob) {
  Json inherited = Json::Object();
  inherited["dataset"] = "fashion-mnist/train";
  inherited["forgotten_sha256"] = "stale";  // replaced by the cumulative list
  std::vector<ForgottenItem> forgotten = {{std::nullopt, "u1", "req-a"}};
  Json m =
      NewVersionManifest(inherited, Json::Object(), TwoRequestJob(), forgotten, Json::Object());
  EXPECT_EQ(m.at("forgotten_sha256"), Json::ArrayOf(std::vector<std::string>{"u1"}));
}

TEST(AddJobSections, ItemJobKeepsTheEngineReportAndStatesWhatWasForgottenAndRead) {
  Json report = Json::Object();
  report["destination_reached"] = false;
  ForgetSummary forget;
  forget.items = 5;
  forget.unmatched_uploads = 2;
  DataSummary data;
  data.retained_items = 100;
  data.excluded_items = 7;
  data.served_retained_items = 30;
  data.test_items = 10;
  AddJobSections(TwoRequestJob(), "w1", forget, data, {{"loading", 1.5}, {"evaluating", 2.0}},
                 &report);

  EXPECT_FALSE(report.at("destination_reached").AsBool());
  const Json& job = report.at("job");
  EXPECT_EQ(job.at("id").AsString(), "job-7");
  EXPECT_EQ(job.at("attempt").AsInt(), 2);
  EXPECT_EQ(job.at("worker").AsString(), "w1");
  EXPECT_EQ(job.at("requests"), Json::ArrayOf(std::vector<std::string>{"req-a", "req-b"}));
  EXPECT_EQ(report.at("model").at("base_version").AsInt(), 41);
  EXPECT_EQ(report.at("model").at("base_sha256").AsString(), "base-digest");
  const Json& f = report.at("forget");
  EXPECT_EQ(f.at("kind").AsString(), "items");
  EXPECT_FALSE(f.Has("class"));
  EXPECT_FALSE(f.Has("class_separation_fd"));
  EXPECT_EQ(f.at("items").AsInt(), 5);
  EXPECT_EQ(f.at("unmatched_uploads").AsInt(), 2);
  EXPECT_EQ(f.at("upload_labels").AsString(), "predicted by the evaluator");
  const Json& d = report.at("data");
  EXPECT_EQ(d.at("spec").AsString(), "fashion-mnist");  // "" names the default data set
  EXPECT_EQ(d.at("retained_items").AsInt(), 100);
  EXPECT_EQ(d.at("excluded_items").AsInt(), 7);
  EXPECT_EQ(d.at("earlier_tombstones").AsInt(), 3);
  EXPECT_EQ(d.at("served_retained_items").AsInt(), 30);
  EXPECT_EQ(d.at("test_items").AsInt(), 10);
  EXPECT_DOUBLE_EQ(report.at("phase_seconds").at("loading").AsDouble(), 1.5);
  EXPECT_DOUBLE_EQ(report.at("phase_seconds").at("evaluating").AsDouble(), 2.0);
}

TEST(AddJobSections, ClassJobNamesTheClassAndAnUnknownSeparationAsNull) {
  ForgetSummary forget;
  forget.is_class = true;
  forget.forget_class = 4;
  forget.items = 6000;
  forget.class_separation_fd = -1;
  DataSummary data;
  data.spec = "/data/digits";
  Json report = Json::Object();
  AddJobSections(TwoRequestJob(), "w1", forget, data, {}, &report);
  const Json& f = report.at("forget");
  EXPECT_EQ(f.at("kind").AsString(), "class");
  EXPECT_EQ(f.at("class").AsInt(), 4);
  EXPECT_TRUE(f.at("class_separation_fd").is_null());
  EXPECT_FALSE(f.Has("upload_labels"));
  EXPECT_EQ(report.at("data").at("spec").AsString(), "/data/digits");

  forget.class_separation_fd = 12.5;
  AddJobSections(TwoRequestJob(), "w1", forget, data, {}, &report);
  EXPECT_DOUBLE_EQ(report.at("forget").at("class_separation_fd").AsDouble(), 12.5);
}

}  // namespace
}  // namespace lethe::worker
