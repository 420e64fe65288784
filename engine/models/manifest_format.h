// What a checkpoint's manifest.json must look like before any file it names is opened:
// the format version, a valid model configuration, and a `files` map of plain file names
// to SHA-256 digests that includes both networks. Kept free of LibTorch so it can be
// fuzzed and reused; LoadCheckpoint calls it first and only then reads weights.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "engine/base/json.h"
#include "engine/models/config.h"

namespace lethe::models {

inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kGeneratorFile = "generator.pt";
inline constexpr const char* kDiscriminatorFile = "discriminator.pt";

// A file name a checkpoint may hold: non-empty, no "/" or "\\", no control characters,
// not "." or "..", not manifest.json itself (the server's registration check is the same).
// Throws lethe::Error otherwise.
void CheckCheckpointFileName(const std::string& name);

struct CheckpointManifestView {
  lethe::Json json;  // the whole parsed manifest
  ModelConfig config;
  std::map<std::string, std::string> files;  // name -> lower-case hex SHA-256
};

// Parses and validates the text of DIR/manifest.json. Throws lethe::Error
// "checkpoint DIR: manifest.json: <problem>" naming the first problem.
CheckpointManifestView ParseCheckpointManifestText(std::string_view text, const std::string& dir);

}  // namespace lethe::models
