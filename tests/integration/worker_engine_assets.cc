#include "tests/integration/worker_engine_assets.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/models/config.h"
#include "engine/train/trainer.h"

namespace lethe::worker::testing {
namespace {

constexpr int kSide = 8;
constexpr int kClasses = 10;
constexpr int kTrainPerClass = 40;
constexpr int kTestPerClass = 10;

void PutBE32(std::string& out, uint32_t v) {
  out.push_back(char(v >> 24));
  out.push_back(char(v >> 16));
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}

// Class c: a bright 2x2 block at a class-specific place over dim noise.
std::string MakeImage(int label, std::mt19937& rng) {
  std::uniform_int_distribution<int> noise(0, 40), bright(180, 255);
  std::string px(kSide * kSide, '\0');
  for (auto& p : px) p = char(noise(rng));
  int row = (label / 5) * 4 + 1, col = (label % 5) + 1;
  for (int dr = 0; dr < 2; ++dr) {
    for (int dc = 0; dc < 2; ++dc) px[size_t((row + dr) * kSide + col + dc)] = char(bright(rng));
  }
  return px;
}

void WriteIdx(const std::string& dir, const std::string& stem, int per_class, uint32_t seed,
              bool duplicate_last) {
  std::mt19937 rng(seed);
  int n = per_class * kClasses;
  std::string images, labels;
  PutBE32(images, 0x00000803);
  PutBE32(images, uint32_t(n));
  PutBE32(images, kSide);
  PutBE32(images, kSide);
  PutBE32(labels, 0x00000801);
  PutBE32(labels, uint32_t(n));
  std::string first;
  for (int i = 0; i < n; ++i) {
    int label = i % kClasses;
    std::string px = MakeImage(label, rng);
    if (i == 0) first = px;
    if (duplicate_last && i == n - kClasses) px = first;  // same class as item 0
    images += px;
    labels.push_back(char(label));
  }
  WriteFileAtomic(JoinPath(dir, stem + "-images-idx3-ubyte"), images);
  WriteFileAtomic(JoinPath(dir, stem + "-labels-idx1-ubyte"), labels);
}

}  // namespace

EngineAssets PrepareEngineAssets(const std::string& root) {
  EngineAssets a;
  std::string dir = JoinPath(root, "worker-test-assets-v2");
  a.data_dir = JoinPath(dir, "data");
  a.evaluator_dir = JoinPath(dir, "evaluator");
  a.checkpoint_dir = JoinPath(dir, "model");
  a.prefix_checkpoint_dir = JoinPath(dir, "model-prefix");
  a.prefix_items = 200;
  a.train_items = kTrainPerClass * kClasses;
  a.duplicate_of = 0;
  a.duplicate = a.train_items - kClasses;
  if (!PathExists(JoinPath(dir, "ready"))) {
    std::string tmp = dir + ".tmp-" + std::to_string(getpid());
    std::filesystem::remove_all(tmp);
    MakeDirs(JoinPath(tmp, "data"));
    WriteIdx(JoinPath(tmp, "data"), "train", kTrainPerClass, 7, true);
    WriteIdx(JoinPath(tmp, "data"), "t10k", kTestPerClass, 8, false);
    data::LoadOptions lo;
    lo.resolution = kSide;
    data::Dataset train = data::LoadDataset(JoinPath(tmp, "data"), data::Split::kTrain, lo);
    // Named by its final path (the manifest records it; the worker derives --data from it).
    train.name = JoinPath(dir, "data") + "/train";
    data::Dataset test = data::LoadDataset(JoinPath(tmp, "data"), data::Split::kTest, lo);

    metrics::EvaluatorOptions eo;
    eo.iterations = 150;
    eo.batch = 64;
    eo.width = 8;
    eo.feature_dim = 16;
    eo.augment = false;
    eo.seed = 3;
    metrics::Evaluator ev = metrics::TrainEvaluator(train, test, eo);
    ev.Save(JoinPath(tmp, "evaluator"));

    models::ModelConfig cfg = models::ModelConfig::Preset("tiny", kSide, 1, kClasses);
    train::TrainOptions to;
    to.iterations = 150;
    to.batch = 16;
    to.seed = 5;
    to.class_mean_samples = 64;
    to.log_every = 1000;
    to.out_dir = JoinPath(tmp, "model");
    train::TrainGan(train, cfg, to);
    data::LoadOptions prefix_options = lo;
    prefix_options.limit = a.prefix_items;
    data::Dataset prefix =
        data::LoadDataset(JoinPath(tmp, "data"), data::Split::kTrain, prefix_options);
    prefix.name = train.name;
    to.out_dir = JoinPath(tmp, "model-prefix");
    train::TrainGan(prefix, cfg, to);
    WriteFileAtomic(JoinPath(tmp, "ready"), "ok\n");
    std::error_code ec;
    std::filesystem::rename(tmp, dir, ec);
    if (ec) std::filesystem::remove_all(tmp, ec);  // another process finished first
  }
  a.digest = models::CheckpointDigest(a.checkpoint_dir);
  a.manifest = Json::Parse(ReadFile(JoinPath(a.checkpoint_dir, models::kManifestFile)));
  a.dataset_name = a.manifest.at("dataset").GetString("name", "");
  a.fingerprint = a.manifest.at("dataset").GetString("fingerprint", "");
  return a;
}

std::string TrainPixels(const EngineAssets& assets, int64_t index) {
  std::string bytes = ReadFile(JoinPath(assets.data_dir, "train-images-idx3-ubyte"));
  return bytes.substr(size_t(16 + index * kSide * kSide), kSide * kSide);
}

std::string NovelImagePng(int seed) {
  std::mt19937 rng(uint32_t(1000 + seed));
  Image8 img;
  img.width = img.height = kSide;
  img.channels = 1;
  std::uniform_int_distribution<int> any(0, 255);
  for (int i = 0; i < kSide * kSide; ++i) img.pixels.push_back(uint8_t(any(rng)));
  return EncodePng(img);
}

}  // namespace lethe::worker::testing
