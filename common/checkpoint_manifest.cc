#include "common/checkpoint_manifest.h"

#include "absl/strings/str_cat.h"
#include "common/dataset_manifest.h"
#include "common/errors.h"

namespace lethe {

absl::StatusOr<CheckpointManifest> ParseCheckpointManifest(std::string_view text,
                                                           const std::string& source) {
  auto fail = [&](const std::string& problem) {
    return MakeError(absl::StatusCode::kInvalidArgument, "BAD_CHECKPOINT_MANIFEST",
                     absl::StrCat(source, ": ", problem), {{"file", source}});
  };
  CheckpointManifest m;
  try {
    Json j = Json::Parse(text);
    m.format_version = j.at("format_version").AsInt();
    const Json& config = j.at("config");
    m.config = config;
    m.num_classes = config.at("num_classes").AsInt();
    m.resolution = config.at("resolution").AsInt();
    m.img_channels = config.at("img_channels").AsInt();
    m.preset = config.GetString("preset", "");
    if (j.Has("dataset")) {
      m.dataset_name = j.at("dataset").GetString("name", "");
      m.dataset_fingerprint = j.at("dataset").GetString("fingerprint", "");
    }
    for (const auto& [name, hash] : j.at("files").items()) m.files[name] = hash.AsString();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (m.format_version < 1) return fail("format_version must be >= 1");
  if (m.num_classes < 1 || m.num_classes > 100000) {
    return fail(absl::StrCat("config.num_classes ", m.num_classes, " is outside [1, 100000]"));
  }
  if (m.resolution < 1 || m.resolution > 8192) {
    return fail(absl::StrCat("config.resolution ", m.resolution, " is outside [1, 8192]"));
  }
  if (m.img_channels != 1 && m.img_channels != 3) {
    return fail(absl::StrCat("config.img_channels ", m.img_channels, " is not 1 or 3"));
  }
  if (m.files.empty()) return fail("files is empty");
  for (const auto& [name, hash] : m.files) {
    // The same rule as the engine's CheckCheckpointFileName.
    bool plain = !name.empty() && name != "." && name != ".." && name != kCheckpointManifestName;
    for (char ch : name) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) plain = false;
    }
    if (!plain) {
      std::string shown = name.substr(0, 80);
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      }
      return fail(absl::StrCat("file name \"", shown, "\" is not a plain file name"));
    }
    if (!IsSha256Hex(hash)) {
      return fail(absl::StrCat("files[\"", name, "\"] is not 64 lowercase hex digits"));
    }
  }
  return m;
}

}  // namespace lethe
