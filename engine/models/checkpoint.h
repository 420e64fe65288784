// A model version on disk: a directory holding manifest.json plus weight files, each
// listed in the manifest with its SHA-256. The manifest's own SHA-256 is the version's
// digest, so the digest pins every byte of the version. Directories are written under a
// temporary name and renamed into place, so a reader never sees half a checkpoint, and
// loading verifies every file before any weight is used.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "engine/base/json.h"
#include "engine/models/config.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"
#include "engine/models/manifest_format.h"

namespace lethe::models {

struct Checkpoint {
  ModelConfig config;
  Generator generator{nullptr};  // the served generator (the EMA of training)
  Discriminator discriminator{nullptr};
  lethe::Json manifest;
  std::string dir;
};

struct SaveOptions {
  // Replace an existing non-empty directory (swapped in atomically). Off by default so a
  // published version is never overwritten by mistake.
  bool overwrite = false;
  // Further files (name -> bytes), e.g. resumable training state; hashed like the rest.
  std::map<std::string, std::string> extra_files;
};

// Manifest members SaveCheckpoint derives itself (format, config, w summaries, created_at,
// file hashes); extras may not set them.
bool IsDerivedManifestMember(const std::string& key);

// Writes DIR atomically. The manifest holds format_version, config, num_classes, dataset
// and parent (from extra_manifest, else null), w_avg / w_class_avg summaries, created_at,
// files {name: sha256}, and every other member of extra_manifest (training schedule,
// forgotten item hashes, metrics, ...). Throws lethe::Error naming the cause.
void SaveCheckpoint(const std::string& dir, const Checkpoint& ckpt,
                    const lethe::Json& extra_manifest, const SaveOptions& options = {});

// Verifies every file's SHA-256 (a missing, truncated or modified file is refused with a
// message naming it), then builds the networks on `device`.
Checkpoint LoadCheckpoint(const std::string& dir, torch::Device device);

// The verified bytes of one extra file of a loaded checkpoint (throws if it is not listed).
std::string ReadCheckpointFile(const Checkpoint& ckpt, const std::string& name);

// SHA-256 of DIR/manifest.json: the identity of a model version.
std::string CheckpointDigest(const std::string& dir);

// Module / optimiser (de)serialisation to bytes, used for weights and training state.
std::string SerializeModule(const torch::nn::Module& module);
void DeserializeModule(torch::nn::Module& module, const std::string& bytes,
                       const std::string& what);

}  // namespace lethe::models
