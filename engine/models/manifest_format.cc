#include "engine/models/manifest_format.h"

#include "engine/base/error.h"

namespace lethe::models {
namespace {

bool IsLowerHexSha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

void CheckCheckpointFileName(const std::string& name) {
  bool plain = !name.empty() && name != "." && name != ".." && name != kManifestFile;
  for (char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) plain = false;
  }
  if (!plain) {
    std::string shown = name.substr(0, 80);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    throw Error("invalid checkpoint file name \"" + shown + "\"");
  }
}

CheckpointManifestView ParseCheckpointManifestText(std::string_view text, const std::string& dir) {
  const std::string where = "checkpoint " + dir + ": " + kManifestFile;
  CheckpointManifestView view;
  try {
    view.json = lethe::Json::Parse(text);
  } catch (const Error& e) {
    throw Error(where + " is unreadable: " + e.what());
  }
  const lethe::Json& m = view.json;
  try {
    if (!m.is_object()) throw Error("not a JSON object");
    int64_t version = 0;
    try {
      version = m.at("format_version").AsInt();
    } catch (const Error& e) {
      throw Error(std::string("format_version: ") + e.what());
    }
    if (version != kCheckpointFormatVersion)
      throw Error("unsupported format_version " + std::to_string(version));
    view.config = ModelConfig::FromJson(m.at("config"));
    const lethe::Json& files = m.at("files");
    if (!files.is_object()) throw Error("\"files\" is not an object");
    for (const auto& [name, digest] : files.items()) {
      CheckCheckpointFileName(name);
      if (!digest.is_string() || !IsLowerHexSha256(digest.AsString()))
        throw Error("files[\"" + name + "\"] is not a SHA-256 (64 lower-case hex digits)");
      view.files[name] = digest.AsString();
    }
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  for (const char* required : {kGeneratorFile, kDiscriminatorFile})
    if (!view.files.count(required))
      throw Error("checkpoint " + dir + ": manifest does not list " + required);
  return view;
}

}  // namespace lethe::models
