// A tiny world for the unlearning tests: a synthetic labelled data set written as PNG
// class folders (so the CLI can load it too), a tiny conditional GAN trained on it and a
// domain classifier. Each gtest case runs in its own process, so the trained models are
// cached on disk next to the test binary, keyed by the binary's size and modification
// time (a rebuilt binary retrains once); a file lock lets parallel test processes share
// one training run.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/models/config.h"
#include "engine/models/device.h"
#include "engine/train/trainer.h"

namespace lethe::unlearn::testing {

namespace fs = std::filesystem;

inline constexpr int kRes = 16;
inline constexpr int kClasses = 4;
inline constexpr int64_t kTrainPerClass = 64;

// Class c: 0 horizontal bar, 1 vertical bar, 2 filled square, 3 hollow square, at a random
// position and brightness, over a smooth background ramp of random direction, offset and
// slope: every item is unique (as real images are) yet learnable by a tiny GAN. 8-bit gray.
inline std::vector<Image8> ShapeImages(int64_t per_class, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = per_class * kClasses;
  torch::Tensor pos = torch::randint(1, kRes - 7, {n, 2}, gen, torch::kInt64);
  torch::Tensor u = torch::rand({n, 4}, gen, torch::kFloat64);
  std::vector<Image8> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % kClasses;
    const int64_t y = pos[i][0].item<int64_t>(), x = pos[i][1].item<int64_t>();
    const double level = 150 + 105 * u[i][0].item<double>();
    const double angle = 6.283185307179586 * u[i][1].item<double>();
    const double offset = 10 + 40 * u[i][2].item<double>();
    const double slope = 70 * u[i][3].item<double>() / kRes;
    Image8 img;
    img.width = img.height = kRes;
    img.channels = 1;
    img.pixels.resize(kRes * kRes);
    for (int64_t r = 0; r < kRes; ++r)
      for (int64_t q = 0; q < kRes; ++q) {
        bool on = false;
        if (c == 0) on = r >= y && r < y + 3 && q >= 2 && q < kRes - 2;
        if (c == 1) on = q >= x && q < x + 3 && r >= 2 && r < kRes - 2;
        if (c == 2) on = r >= y && r < y + 5 && q >= x && q < x + 5;
        if (c == 3)
          on = r >= y && r < y + 6 && q >= x && q < x + 6 &&
               (r == y || r == y + 5 || q == x || q == x + 5);
        const double t = (q - kRes / 2.0) * std::cos(angle) + (r - kRes / 2.0) * std::sin(angle);
        const double background = std::clamp(offset + slope * (t + kRes / 2.0), 0.0, 120.0);
        img.pixels[size_t(r * kRes + q)] = uint8_t(on ? level : background);
      }
    out.push_back(std::move(img));
  }
  return out;
}

inline void WriteSplit(const std::string& dir, int64_t per_class, uint64_t seed) {
  std::vector<Image8> images = ShapeImages(per_class, seed);
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string cls = JoinPath(dir, "c" + std::to_string(i % kClasses));
    MakeDirs(cls);
    char name[32];
    std::snprintf(name, sizeof name, "%04zu.png", i);
    WriteFileAtomic(JoinPath(cls, name), EncodePng(images[i]));
  }
}

// What a world is made of: its name (the cache directory's prefix), the items per class of
// each split and the base GAN's schedule.
struct WorldSpec {
  std::string name = "unlearn-world";
  int64_t train_per_class = kTrainPerClass;
  int64_t test_per_class = 32;
  int64_t iterations = 400;
};

// The memorising world: few training images and many passes over them, so that the GAN
// remembers them (its generator reconstructs them better than never-seen images and its
// discriminator scores them higher), which the membership attacks can then see.
inline WorldSpec MemorizingSpec() {
  WorldSpec s;
  s.name = "memorizing-world";
  s.train_per_class = 8;
  s.test_per_class = 64;
  s.iterations = 800;
  return s;
}

inline train::TrainOptions BaseSchedule(const WorldSpec& spec = WorldSpec()) {
  train::TrainOptions o;
  o.iterations = spec.iterations;
  o.batch = 32;
  o.seed = 3;
  o.g_lr = o.d_lr = 0.005;
  o.log_every = 0;
  o.class_mean_samples = 256;
  return o;
}

struct World {
  std::string root, data_dir, base_dir, evaluator_dir;
  data::Dataset train, test;
  models::Checkpoint base;
  std::unique_ptr<metrics::Evaluator> evaluator;
};

// Directory for this build's cached world (removes worlds of older builds).
inline std::string WorldRoot(const WorldSpec& spec) {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  struct stat st {};
  if (::stat(exe.c_str(), &st) != 0) throw Error("cannot stat " + exe.string());
  const std::string name = spec.name + "-" + std::to_string(st.st_size) + "-" +
                           std::to_string(int64_t(st.st_mtime));
  return (exe.parent_path() / name).string();
}

inline data::LoadOptions WorldLoadOptions() {
  data::LoadOptions o;
  o.resolution = kRes;
  return o;
}

inline World BuildWorld(const WorldSpec& spec = WorldSpec()) {
  models::ConfigureThreads(2);
  World w;
  w.root = WorldRoot(spec);
  w.data_dir = JoinPath(w.root, "data");
  w.base_dir = JoinPath(w.root, "base");
  w.evaluator_dir = JoinPath(w.root, "evaluator");
  const std::string parent = fs::path(w.root).parent_path().string();
  const std::string lock_path = JoinPath(parent, spec.name + ".lock");
  int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) throw Error("cannot lock " + lock_path);
  try {
    if (!PathExists(JoinPath(w.root, "ready"))) {
      for (const auto& entry : fs::directory_iterator(parent))
        if (entry.path().filename().string().rfind(spec.name + "-", 0) == 0)
          fs::remove_all(entry.path());
      WriteSplit(JoinPath(w.data_dir, "train"), spec.train_per_class, 1);
      WriteSplit(JoinPath(w.data_dir, "test"), spec.test_per_class, 2);
      data::Dataset train = data::LoadDataset(w.data_dir, data::Split::kTrain, WorldLoadOptions());
      data::Dataset test = data::LoadDataset(w.data_dir, data::Split::kTest, WorldLoadOptions());
      train::TrainOptions o = BaseSchedule(spec);
      o.out_dir = w.base_dir;
      train::TrainGan(train, models::ModelConfig::Preset("tiny", kRes, 1, kClasses), o);
      metrics::EvaluatorOptions eo;
      eo.iterations = 200;
      eo.batch = 32;
      eo.width = 8;
      eo.feature_dim = 16;
      eo.seed = 5;
      eo.log_every = 0;
      metrics::TrainEvaluator(train, test, eo).Save(w.evaluator_dir);
      WriteFileAtomic(JoinPath(w.root, "ready"), "ok\n");
    }
  } catch (...) {
    ::flock(fd, LOCK_UN);
    ::close(fd);
    throw;
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  w.train = data::LoadDataset(w.data_dir, data::Split::kTrain, WorldLoadOptions());
  w.test = data::LoadDataset(w.data_dir, data::Split::kTest, WorldLoadOptions());
  w.base = models::LoadCheckpoint(w.base_dir, torch::kCPU);
  w.evaluator =
      std::make_unique<metrics::Evaluator>(metrics::Evaluator::Load(w.evaluator_dir, torch::kCPU));
  return w;
}

// The shared world, built (or loaded) on first use.
inline World& GetWorld() {
  static World* world = new World(BuildWorld());
  return *world;
}

// The memorising world (MemorizingSpec), built (or loaded) on first use.
inline World& GetMemorizingWorld() {
  static World* world = new World(BuildWorld(MemorizingSpec()));
  return *world;
}

// The first `per_class` training items of each class (a mixed-class forget set).
inline data::Dataset ForgetItems(const data::Dataset& train, int64_t per_class) {
  std::vector<int64_t> rows;
  for (int64_t c = 0; c < train.num_classes; ++c) {
    std::vector<int64_t> of = train.IndicesOfClass(c);
    for (int64_t i = 0; i < per_class && i < int64_t(of.size()); ++i) rows.push_back(of[size_t(i)]);
  }
  return train.Subset(rows);
}

}  // namespace lethe::unlearn::testing
