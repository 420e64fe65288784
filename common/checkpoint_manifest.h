// manifest.json of a checkpoint directory (written by the engine): what the model is and
// which files make it, with their SHA-256. The server reads it to register a model and
// the model store uses `files` to copy and verify a version.
//   {"format_version": 1,
//    "config": {"num_classes": 10, "resolution": 32, "img_channels": 1, "preset": "..."},
//    "dataset": {"name": "fashion-mnist/train", "fingerprint": "<hex>"},
//    "files": {"generator.pt": "<sha256>", ...}}
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/base/json.h"

namespace lethe {

inline constexpr char kCheckpointManifestName[] = "manifest.json";

struct CheckpointManifest {
  int64_t format_version = 0;
  int64_t num_classes = 0;
  int64_t resolution = 0;
  int64_t img_channels = 0;
  std::string preset;
  std::string dataset_name;
  std::string dataset_fingerprint;
  std::map<std::string, std::string> files;  // name -> sha256 hex
  Json config;                               // the whole "config" object
};

// INVALID_ARGUMENT "SOURCE: problem" for missing keys, bad types, out-of-range values,
// or unsafe file names (only plain names: no "/", no "..", not manifest.json itself).
absl::StatusOr<CheckpointManifest> ParseCheckpointManifest(std::string_view text,
                                                           const std::string& source);

}  // namespace lethe
