// Checkpoints: bit-exact round trip, manifest contents, atomic publication, and refusal
// of missing, truncated or modified files with a message naming the file.
#include "engine/models/checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe::models {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lethe-ckpt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    torch::manual_seed(21);
    ckpt_.config = ModelConfig::Preset("tiny", 16, 1, 3);
    ckpt_.generator = Generator(ckpt_.config);
    ckpt_.discriminator = Discriminator(ckpt_.config);
    torch::NoGradGuard no_grad;
    ckpt_.generator->UpdateWAvg(torch::randn({8, ckpt_.config.w_dim}), 0.0);
    ckpt_.generator->ComputeClassMeans(64, 5);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Dir(const std::string& name) const { return (fs::path(root_) / name).string(); }
  std::string SaveDefault(const std::string& name) {
    lethe::Json extra = lethe::Json::Object();
    lethe::Json dataset = lethe::Json::Object();
    dataset["name"] = "synthetic";
    dataset["fingerprint"] = std::string(64, 'a');
    extra["dataset"] = dataset;
    extra["metrics"] = lethe::Json::Object();
    extra["metrics"]["fd"] = 12.5;
    SaveCheckpoint(Dir(name), ckpt_, extra);
    return Dir(name);
  }

  std::string root_;
  Checkpoint ckpt_;
};

void ExpectSameTensors(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
}

std::string LoadError(const std::string& dir) {
  try {
    LoadCheckpoint(dir, torch::kCPU);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(CheckpointTest, RoundTripIsBitExactAndManifestIsComplete) {
  const std::string dir = SaveDefault("v1");
  Checkpoint back = LoadCheckpoint(dir, torch::kCPU);
  EXPECT_EQ(back.config.ToJson(), ckpt_.config.ToJson());
  ExpectSameTensors(*ckpt_.generator, *back.generator);
  ExpectSameTensors(*ckpt_.discriminator, *back.discriminator);
  EXPECT_TRUE(back.generator->HasClassMeans());
  torch::Tensor z = torch::randn({2, ckpt_.config.z_dim});
  torch::Tensor labels = torch::tensor({0, 2}, torch::kInt64);
  EXPECT_TRUE(torch::equal(back.generator->forward(z, labels, NoiseMode::kConst),
                           ckpt_.generator->forward(z, labels, NoiseMode::kConst)));

  const lethe::Json& m = back.manifest;
  EXPECT_EQ(m.at("format_version").AsInt(), kCheckpointFormatVersion);
  EXPECT_EQ(m.at("num_classes").AsInt(), 3);
  EXPECT_EQ(m.at("config"), ckpt_.config.ToJson());
  EXPECT_EQ(m.at("dataset").at("name").AsString(), "synthetic");
  EXPECT_TRUE(m.at("parent").is_null());
  EXPECT_DOUBLE_EQ(m.at("metrics").at("fd").AsDouble(), 12.5);
  EXPECT_NEAR(m.at("w_avg").at("norm").AsDouble(), ckpt_.generator->w_avg().norm().item<double>(),
              1e-5);
  EXPECT_EQ(m.at("w_class_avg").at("norms").size(), 3u);
  EXPECT_EQ(m.at("w_class_avg").at("samples_per_class").AsInt(), 64);
  EXPECT_FALSE(m.at("created_at").AsString().empty());
  ASSERT_EQ(m.at("files").size(), 2u);
  for (const char* f : {kGeneratorFile, kDiscriminatorFile})
    EXPECT_EQ(m.at("files").at(f).AsString(), Sha256FileHex(JoinPath(dir, f)));
  EXPECT_EQ(CheckpointDigest(dir), Sha256FileHex(JoinPath(dir, kManifestFile)));
  EXPECT_EQ(back.dir, dir);
  // No temporary directories left next to it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_)) entries += e.path().filename() != "v1";
  EXPECT_EQ(entries, 0);
}

TEST_F(CheckpointTest, RefusesToOverwriteUnlessToldAndSwapsAtomically) {
  const std::string dir = SaveDefault("v1");
  const std::string digest = CheckpointDigest(dir);
  try {
    SaveCheckpoint(dir, ckpt_, lethe::Json::Object());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CheckpointDigest(dir), digest);  // untouched

  lethe::Json extra = lethe::Json::Object();
  extra["parent"] = digest;
  SaveOptions options;
  options.overwrite = true;
  options.extra_files["notes.bin"] = std::string("\x01\x02\x03", 3);
  SaveCheckpoint(dir, ckpt_, extra, options);
  Checkpoint back = LoadCheckpoint(dir, torch::kCPU);
  EXPECT_EQ(back.manifest.at("parent").AsString(), digest);
  EXPECT_EQ(ReadCheckpointFile(back, "notes.bin"), std::string("\x01\x02\x03", 3));
  EXPECT_THROW(ReadCheckpointFile(back, "absent.bin"), Error);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_)) entries += e.path().filename() != "v1";
  EXPECT_EQ(entries, 0);

  // An empty existing directory is fine to publish into.
  fs::create_directories(Dir("empty"));
  SaveCheckpoint(Dir("empty"), ckpt_, lethe::Json::Object());
  EXPECT_NO_THROW(LoadCheckpoint(Dir("empty"), torch::kCPU));
  // A trailing slash names the same directory.
  SaveCheckpoint(Dir("slash") + "/", ckpt_, lethe::Json::Object());
  EXPECT_NO_THROW(LoadCheckpoint(Dir("slash"), torch::kCPU));
  // Reserved manifest members cannot be forged through the extras.
  lethe::Json forged = lethe::Json::Object();
  forged["files"] = lethe::Json::Object();
  EXPECT_THROW(SaveCheckpoint(Dir("forged"), ckpt_, forged), Error);
  EXPECT_FALSE(fs::exists(Dir("forged")));
}

TEST_F(CheckpointTest, TamperedTruncatedAndMissingFilesAreRefusedByName) {
  // A flipped byte in the generator weights.
  const std::string a = SaveDefault("tampered");
  {
    std::string bytes = ReadFile(JoinPath(a, kGeneratorFile));
    bytes[bytes.size() / 2] ^= 0x40;
    std::ofstream(JoinPath(a, kGeneratorFile), std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string err = LoadError(a);
  EXPECT_NE(err.find(kGeneratorFile), std::string::npos) << err;
  EXPECT_NE(err.find("SHA-256"), std::string::npos) << err;

  // A truncated discriminator.
  const std::string b = SaveDefault("truncated");
  fs::resize_file(JoinPath(b, kDiscriminatorFile),
                  fs::file_size(JoinPath(b, kDiscriminatorFile)) / 2);
  err = LoadError(b);
  EXPECT_NE(err.find(kDiscriminatorFile), std::string::npos) << err;

  // A missing file.
  const std::string c = SaveDefault("missing");
  fs::remove(JoinPath(c, kGeneratorFile));
  err = LoadError(c);
  EXPECT_NE(err.find(kGeneratorFile), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;

  // A broken manifest.
  const std::string d = SaveDefault("manifest");
  fs::resize_file(JoinPath(d, kManifestFile), 20);
  err = LoadError(d);
  EXPECT_NE(err.find(kManifestFile), std::string::npos) << err;

  // Not a checkpoint at all.
  err = LoadError(Dir("nothing-here"));
  EXPECT_NE(err.find("nothing-here"), std::string::npos) << err;
}

}  // namespace
}  // namespace lethe::models
