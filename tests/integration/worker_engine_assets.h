// What an end-to-end worker test needs from the engine, made once and reused: a tiny
// synthetic IDX data set (8x8 gray images, 10 classes, one item duplicated under a second
// id), a domain classifier trained on it, and a tiny GAN trained on it. Jobs on this model
// take seconds on one CPU core.
#pragma once

#include <string>

#include "engine/base/json.h"

namespace lethe::worker::testing {

struct EngineAssets {
  std::string data_dir;        // IDX files: train (400 items) and t10k (100 items)
  std::string evaluator_dir;   // trained evaluator
  std::string checkpoint_dir;  // trained tiny GAN (manifest.json, generator.pt, ...)
  std::string digest;          // SHA-256 of its manifest.json
  // The same GAN trained on the first `prefix_items` training items only (`--limit`).
  std::string prefix_checkpoint_dir;
  int64_t prefix_items = 0;
  Json manifest;
  std::string dataset_name;  // as recorded in the manifest ("<dir>/train")
  std::string fingerprint;
  int64_t train_items = 0;
  // train/<duplicate_of> and train/<duplicate> have the same pixels (and content hash).
  int64_t duplicate_of = 0;
  int64_t duplicate = 0;
};

// Builds the assets under `root` unless a complete set is already there (the directory
// name carries a version; creation is atomic, so parallel test processes are safe).
EngineAssets PrepareEngineAssets(const std::string& root);

// The 8x8 gray pixels of train item `index` (row-major bytes), and a PNG of an image that
// is not in the data set.
std::string TrainPixels(const EngineAssets& assets, int64_t index);
std::string NovelImagePng(int seed);

}  // namespace lethe::worker::testing
