// Fuzzes checkpoint manifest validation on both sides that read one: the engine's
// (ParseCheckpointManifestText, run by LoadCheckpoint before any weight file is opened)
// and the server's (ParseCheckpointManifest, run when a model is registered). Nothing may
// crash; what either accepts must only name plain files with SHA-256 digests, and a
// manifest the engine accepts must also be accepted by the server.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/checkpoint_manifest.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/models/manifest_format.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// The rule both sides document: no "/" or "\\", no control characters, not "." or "..",
// not manifest.json.
bool IsPlainName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name == "manifest.json") return false;
  for (char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool engine_ok = false;
  try {
    lethe::models::CheckpointManifestView v =
        lethe::models::ParseCheckpointManifestText(text, "ck");
    engine_ok = true;
    Check(v.files.count("generator.pt") == 1 && v.files.count("discriminator.pt") == 1);
    for (const auto& [name, digest] : v.files) Check(IsPlainName(name) && IsLowerHex64(digest));
    v.config.Validate();  // what FromJson accepted must still be valid
    // Canonical JSON is a fixed point: what the digest of a manifest is taken over must
    // not change when it is parsed and written again.
    const std::string canonical = v.json.Dump();
    Check(lethe::Json::Parse(canonical).Dump() == canonical);
  } catch (const lethe::Error& e) {
    Check(std::string_view(e.what()).find("checkpoint ck") != std::string_view::npos);
  }
  auto server = lethe::ParseCheckpointManifest(text, "fuzz/manifest.json");
  if (server.ok()) {
    Check(!server->files.empty());
    for (const auto& [name, digest] : server->files)
      Check(IsPlainName(name) && IsLowerHex64(digest));
  } else {
    Check(server.status().code() == absl::StatusCode::kInvalidArgument);
  }
  if (engine_ok) Check(server.ok());
  return 0;
}
