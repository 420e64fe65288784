// The unlearn / retrain / invert commands as a user runs them: exit statuses, what they
// write (and do not write), the lineage in the new manifest, and a report whose numbers an
// independent evaluation of the written model reproduces.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/png.h"
#include "engine/data/forget_split.h"
#include "engine/metrics/registry.h"
#include "engine/models/checkpoint.h"
#include "engine/unlearn/lineage.h"
#include "engine/unlearn/schedule.h"
#include "tests/unit/engine/unlearn_fixture.h"

namespace lethe::unlearn {
namespace {

namespace fs = std::filesystem;
using testing::GetWorld;

std::string EngineBinary() {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  return (exe.parent_path().parent_path() / "engine" / "cli" / "lethe-engine").string();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() /
            ("lethe-unlearn-cli-" + std::to_string(::getpid()) + "-" + info->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(fs::exists(EngineBinary())) << EngineBinary() << " is not built";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  // Runs lethe-engine with `args`; returns its exit status (output in `log`).
  int Run(const std::string& args) {
    log_ = Path("log.txt");
    const std::string cmd = EngineBinary() + " " + args + " > " + log_ + " 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string Log() const { return PathExists(log_) ? ReadFile(log_) : ""; }

  std::string WriteIds(const std::vector<std::string>& ids) {
    std::string text = "# forget list\n";
    for (const auto& id : ids) text += id + "\n";
    const std::string p = Path("forget.txt");
    WriteFileAtomic(p, text);
    return p;
  }

  std::string dir_, log_;
};

std::string Common(const testing::World& w) {
  return "--model " + w.base_dir + " --data " + w.data_dir + " --threads 2 ";
}

TEST_F(CliTest, ItemUnlearningWritesTheModelAndAReportThatIndependentEvaluationReproduces) {
  auto& world = GetWorld();
  const std::string base_digest = models::CheckpointDigest(world.base_dir);
  data::Dataset forget = testing::ForgetItems(world.train, 2);
  const std::string ids = WriteIds(forget.ids);
  const std::string args =
      Common(world) + "--evaluator " + world.evaluator_dir + " --forget-items " + ids +
      " --mode few-shot --substitute average --fake-label -1 --lr 0.01 --eval-every 5"
      " --max-iterations 150 --eval-samples 128 --inversion-steps 40 --num-generated 256"
      " --max-real 512 --seed 3 --destination paper --attack-samples 256 --attack-steps 30"
      " --out " +
      Path("out") + " --report " + Path("report.json") + " --grid " + Path("grid.png");
  ASSERT_EQ(Run("unlearn " + args), 0) << Log();

  const Json report = Json::Parse(ReadFile(Path("report.json")));
  EXPECT_TRUE(report.at("destination_reached").AsBool());
  EXPECT_EQ(report.at("destination").at("policy").AsString(), "paper");
  EXPECT_GE(report.at("destination").at("value").AsDouble(), 0.8);
  EXPECT_TRUE(report.at("policies").at("paper").at("reached").AsBool());
  EXPECT_TRUE(report.at("policies").at("non_member").Has("reached"));
  EXPECT_TRUE(report.at("policies").at("generator").Has("reached"));
  // Membership attacks before and after, on both networks, and the DPO's sentence.
  for (const char* side : {"before", "after"})
    for (const char* k : {"discriminator_auc", "generator_whitebox_auc", "generator_blackbox_auc"}) {
      const double v = report.at(side).at("mia").at(k).AsDouble();
      EXPECT_GE(v, 0.0) << side << " " << k;
      EXPECT_LE(v, 1.0) << side << " " << k;
    }
  EXPECT_FALSE(report.at("summary").AsString().empty());
  for (const char* k : {"inversion", "unlearning", "evaluation", "total"})
    EXPECT_GE(report.at("seconds").at(k).AsDouble(), 0.0) << k;
  EXPECT_GT(report.at("iterations").AsInt(), 0);
  EXPECT_GE(report.at("inversion").at("max_mse").AsDouble(),
            report.at("inversion").at("mean_mse").AsDouble());
  EXPECT_EQ(report.at("config").at("seed").AsInt(), 3);
  EXPECT_EQ(report.at("config").at("cascade").at("zeta").AsDouble(), -1.0);
  for (const char* side : {"before", "after"})
    for (const char* k : {"auc_u", "fd_l", "fd_u", "accuracy", "logan_auc"})
      EXPECT_TRUE(report.at(side).at(k).is_number()) << side << "." << k;
  // D now rates the forgotten items below retained ones, in the independent metric too.
  EXPECT_GT(report.at("after").at("auc_u").AsDouble(), report.at("before").at("auc_u").AsDouble());

  // The written model: its manifest names the parent and each forgotten item with its hash.
  EXPECT_EQ(report.at("parent").AsString(), base_digest);
  EXPECT_EQ(models::CheckpointDigest(world.base_dir), base_digest);  // base untouched
  models::Checkpoint out = models::LoadCheckpoint(Path("out"), torch::kCPU);
  EXPECT_EQ(out.manifest.at("parent").AsString(), base_digest);
  EXPECT_EQ(report.at("digest").AsString(), models::CheckpointDigest(Path("out")));
  const Json& forgotten = out.manifest.at("forgotten");
  ASSERT_EQ(forgotten.size(), size_t(forget.size()));
  for (const Json& item : forgotten.elements()) {
    const int64_t i = world.train.IndexOf(item.at("id").AsString());
    ASSERT_GE(i, 0);
    EXPECT_EQ(item.at("hash").AsString(), world.train.hashes[size_t(i)]);
  }
  EXPECT_EQ(out.manifest.at("training"), world.base.manifest.at("training"));

  // An independent evaluation of the written model with the same seed gives the same numbers.
  data::ForgetSplit split = data::SplitByItems(world.train, forget.ids);
  metrics::MetricInputs m;
  m.generator = out.generator;
  m.discriminator = out.discriminator;
  m.evaluator = world.evaluator.get();
  m.train = &split.retained;
  m.test = &world.test;
  m.forget = &split.forgotten;
  m.num_generated = 256;
  m.max_real = 512;
  m.seed = 3;
  m.attack_samples_per_class = 256;
  const Json independent = metrics::EvaluateModel(m);
  for (const auto& [name, value] : independent.items()) {
    ASSERT_TRUE(report.at("after").Has(name)) << name;
    EXPECT_NEAR(value.AsDouble(), report.at("after").at(name).AsDouble(),
                1e-6 * (1 + std::abs(value.AsDouble())))
        << name;
  }

  // The grid: 8 originals, the old version's G0(w_u), their re-inversion into the new
  // version, 8 never-seen controls and their re-inversion, then every class before and
  // after: 5 + 2 * 4 rows of 8 tiles of 16 pixels, 2-pixel gutters.
  Image8 grid;
  std::string err;
  ASSERT_TRUE(DecodePng(ReadFile(Path("grid.png")), 1, PngLimits(), &grid, &err)) << err;
  EXPECT_EQ(grid.height, 13 * 16 + 14 * 2);
  EXPECT_EQ(grid.width, 8 * 16 + 9 * 2);
}

TEST_F(CliTest, UnreachedDestinationExitsWithThreeWritesTheReportButNoModel) {
  auto& world = GetWorld();
  const std::string ids = WriteIds(testing::ForgetItems(world.train, 1).ids);
  const std::string args = Common(world) + "--evaluator " + world.evaluator_dir +
                           " --forget-items " + ids +
                           " --max-iterations 2 --eval-every 1 --auc-threshold 1.0"
                           " --inversion-steps 5 --num-generated 64 --max-real 128"
                           " --attack-samples 64 --attack-steps 10 --out " +
                           Path("out") + " --report " + Path("report.json");
  ASSERT_EQ(Run("unlearn " + args), 3) << Log();
  const Json report = Json::Parse(ReadFile(Path("report.json")));
  EXPECT_FALSE(report.at("destination_reached").AsBool());
  EXPECT_EQ(report.at("destination").at("stop_reason").AsString(), "iteration budget");
  EXPECT_FALSE(report.at("model_written").AsBool());
  EXPECT_EQ(report.at("iterations").AsInt(), 2);
  EXPECT_TRUE(report.at("after").at("auc_u").is_number());
  EXPECT_FALSE(PathExists(JoinPath(Path("out"), "manifest.json")));
  EXPECT_NE(Log().find("DESTINATION NOT REACHED"), std::string::npos) << Log();
}

TEST_F(CliTest, BadRequestsFailWithOneAndWriteNothing) {
  auto& world = GetWorld();
  const std::string ids = WriteIds({"train/c0/0000.png", "train/c9/nope.png"});
  const std::string out = " --out " + Path("out") + " --report " + Path("report.json");
  EXPECT_EQ(Run("unlearn " + Common(world) + "--evaluator " + world.evaluator_dir +
                " --forget-items " + ids + out),
            1);
  EXPECT_NE(Log().find("train/c9/nope.png"), std::string::npos) << Log();
  EXPECT_EQ(Run("unlearn " + Common(world) + "--evaluator " + world.evaluator_dir +
                " --forget-items " + ids + " --forget-class 1" + out),
            1);
  EXPECT_EQ(Run("unlearn " + Common(world) + "--evaluator " + world.evaluator_dir +
                " --forget-class 1 --substitute projection" + out),
            1);
  EXPECT_NE(Log().find("projection"), std::string::npos) << Log();
  EXPECT_EQ(Run("unlearn " + Common(world) + "--evaluator " + world.evaluator_dir +
                " --forget-class 1 --sustitute average" + out),
            1);
  EXPECT_NE(Log().find("--sustitute"), std::string::npos) << Log();
  EXPECT_EQ(Run("unlearn " + Common(world) + "--evaluator " + world.evaluator_dir +
                " --forget-class 1 --inversion-start nearest" + out),
            1);
  EXPECT_NE(Log().find("unknown inversion start 'nearest'"), std::string::npos) << Log();
  EXPECT_FALSE(PathExists(Path("out")));
  // An output directory that already holds anything is refused before any work, and kept.
  const std::string busy = Path("busy");
  MakeDirs(busy);
  WriteFileAtomic(JoinPath(busy, "keep.txt"), "x");
  for (const char* cmd : {"unlearn ", "retrain "}) {
    EXPECT_EQ(Run(cmd + Common(world) + "--evaluator " + world.evaluator_dir +
                  " --forget-class 1 --out " + busy + " --report " + Path("busy.json")),
              1);
    EXPECT_NE(Log().find("is not empty; refusing to overwrite it"), std::string::npos) << Log();
  }
  EXPECT_EQ(ReadFile(JoinPath(busy, "keep.txt")), "x");
  EXPECT_FALSE(PathExists(Path("busy.json")));
  EXPECT_FALSE(PathExists(Path("report.json")));
}

TEST_F(CliTest, InvertWritesCodesAndReconstructionErrors) {
  auto& world = GetWorld();
  data::Dataset items = testing::ForgetItems(world.train, 1);
  const std::string ids = WriteIds(items.ids);
  ASSERT_EQ(
      Run("invert " + Common(world) + "--items " + ids + " --steps 30 --out " + Path("w.json")), 0)
      << Log();
  const Json j = Json::Parse(ReadFile(Path("w.json")));
  ASSERT_EQ(j.at("items").size(), size_t(items.size()));
  for (size_t i = 0; i < j.at("items").size(); ++i) {
    const Json& item = j.at("items")[i];
    EXPECT_EQ(item.at("id").AsString(), items.ids[i]);
    EXPECT_EQ(item.at("w").size(), size_t(world.base.config.w_dim));
    EXPECT_GE(item.at("mse").AsDouble(), 0.0);
    EXPECT_LE(item.at("mse").AsDouble(), j.at("max_mse").AsDouble());
  }
  EXPECT_EQ(j.at("options").at("start").AsString(), "class-mean");
  // The nearer start, as asked for, recorded with its settings.
  ASSERT_EQ(Run("invert " + Common(world) + "--items " + ids +
                " --steps 5 --start nearest-sample --start-samples 16 --out " + Path("n.json")),
            0)
      << Log();
  const Json n = Json::Parse(ReadFile(Path("n.json")));
  EXPECT_EQ(n.at("options").at("start").AsString(), "nearest-sample");
  EXPECT_EQ(n.at("options").at("start_samples").AsInt(), 16);
  EXPECT_EQ(n.at("items").size(), size_t(items.size()));
  EXPECT_EQ(Run("invert " + Common(world) + "--items " + ids + " --start-samples 0 --out " +
                Path("bad.json")),
            1);
  EXPECT_FALSE(PathExists(Path("bad.json")));
}

TEST_F(CliTest, RetrainRerunsTheBaseScheduleWithoutTheForgetSet) {
  auto& world = GetWorld();
  data::Dataset forget = testing::ForgetItems(world.train, 2);
  const std::string ids = WriteIds(forget.ids);
  ASSERT_EQ(
      Run("retrain " + Common(world) + "--forget-items " + ids + " --iterations 8 --quiet --out " +
          Path("out") + " --report " + Path("report.json")),
      0)
      << Log();
  const Json report = Json::Parse(ReadFile(Path("report.json")));
  const train::TrainOptions base = ScheduleFromManifest(world.base.manifest);
  EXPECT_EQ(report.at("iterations").AsInt(), 8);
  EXPECT_TRUE(report.at("schedule_overridden").AsBool());
  EXPECT_EQ(report.at("schedule").at("batch").AsInt(), base.batch);
  EXPECT_EQ(report.at("schedule").at("seed").AsInt(), int64_t(base.seed));
  EXPECT_DOUBLE_EQ(report.at("schedule").at("g_lr").AsDouble(), base.g_lr);
  EXPECT_GT(report.at("seconds").at("training").AsDouble(), 0.0);
  const Json manifest = Json::Parse(ReadFile(JoinPath(Path("out"), "manifest.json")));
  data::Dataset retained = world.train.Without({forget.ids.begin(), forget.ids.end()});
  EXPECT_EQ(manifest.at("dataset").at("fingerprint").AsString(), retained.Fingerprint());
  EXPECT_EQ(manifest.at("parent").AsString(), models::CheckpointDigest(world.base_dir));
  EXPECT_EQ(manifest.at("forgotten").size(), size_t(forget.size()));
}

TEST(Schedule, RetrainingReusesTheBaseModelsArithmetic) {
  Json manifest = Json::Object();
  manifest["training"] = Json::Object();
  manifest["training"]["iterations"] = 7000;
  manifest["training"]["batch"] = 32;
  manifest["training"]["seed"] = 0;
  EXPECT_EQ(ScheduleFromManifest(manifest).precision, train::Precision::kFloat32);
  manifest["training"]["precision"] = "bf16";
  const train::TrainOptions o = ScheduleFromManifest(manifest);
  EXPECT_EQ(o.precision, train::Precision::kBFloat16);
  EXPECT_EQ(o.iterations, 7000);
  manifest["training"]["precision"] = "fp8";
  EXPECT_THROW(ScheduleFromManifest(manifest), Error);
}

TEST(Lineage, ChildManifestAccumulatesForgottenItems) {
  data::Dataset first;
  first.ids = {"train/2", "train/1"};
  first.hashes = {"h2", "h1"};
  first.labels = torch::tensor({0, 1}, torch::kLong);
  Json parent = Json::Object();
  parent["training"] = Json::Object();
  parent["training"]["batch"] = 32;
  Json a = ChildManifest(parent, "digest0", first, Json::Object());
  EXPECT_EQ(a.at("parent").AsString(), "digest0");
  ASSERT_EQ(a.at("forgotten").size(), 2u);
  EXPECT_EQ(a.at("forgotten")[0].at("id").AsString(), "train/1");  // sorted by id
  EXPECT_EQ(a.at("training").at("batch").AsInt(), 32);
  data::Dataset second;
  second.ids = {"train/3", "train/1"};
  second.hashes = {"h3", "h1"};
  second.labels = torch::tensor({1, 1}, torch::kLong);
  Json b = ChildManifest(a, "digest1", second, Json::Object());
  EXPECT_EQ(b.at("forgotten").size(), 3u);  // train/1 once
  EXPECT_EQ(b.at("forgotten_now").size(), 2u);
  EXPECT_EQ(b.at("parent").AsString(), "digest1");
}

}  // namespace
}  // namespace lethe::unlearn
