// Where model version files live. Versions are content-addressed: key "<model>/<digest>"
// where digest is the SHA-256 of the version's manifest.json. The interface is small so
// an object store can replace the directory implementation; the worker also writes new
// versions through it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_store_env.h"

namespace lethe {

// One directory-like entry of the store, for finding orphans: a version (`key`
// "<model>/<digest>") or a temporary left by an interrupted write (`temporary`).
struct StoreEntry {
  std::string key;
  bool temporary = false;
  double age_seconds = 0;  // since it was last modified
};

class ModelStore {
 public:
  virtual ~ModelStore() = default;

  // Copies manifest.json and `files` (name -> expected sha256) from the local directory
  // `source_dir` into the store as version `digest` of `model`, verifying every hash, and
  // returns the version's key. The version appears atomically (complete or not at all);
  // putting a version that already exists is a no-op.
  virtual absl::StatusOr<std::string> PutVersion(
      const std::string& model, const std::string& digest, const std::string& source_dir,
      const std::map<std::string, std::string>& files) = 0;

  virtual bool HasFile(const std::string& key, const std::string& name) const = 0;
  virtual absl::StatusOr<int64_t> FileSize(const std::string& key,
                                           const std::string& name) const = 0;
  // Up to max_bytes starting at offset ("" at the end of the file).
  virtual absl::StatusOr<std::string> ReadChunk(const std::string& key, const std::string& name,
                                                int64_t offset, int64_t max_bytes) const = 0;
  virtual absl::StatusOr<std::string> ReadWhole(const std::string& key,
                                                const std::string& name) const = 0;
  // A local directory holding the version's files (the engine loads from there).
  virtual absl::StatusOr<std::string> LocalDirectory(const std::string& key) const = 0;
  // Deletes the version's files (purge).
  virtual absl::Status RemoveVersion(const std::string& key) = 0;
  // Every version and temporary in the store, whether or not the database knows it.
  virtual absl::StatusOr<std::vector<StoreEntry>> ListEntries() const = 0;
  // Deletes an entry returned by ListEntries() (a version or a temporary).
  virtual absl::Status RemoveEntry(const StoreEntry& entry) = 0;
};

// Files under ROOT/<model>/<digest>/. Writes go to a temporary sibling directory
// (".tmp-..."), each file and the directory are fsynced, then the directory is renamed into
// place; a failed write removes the temporary directory. Writes go through `env` (POSIX
// unless a test injects faults).
class DirectoryModelStore : public ModelStore {
 public:
  static constexpr char kTempPrefix[] = ".tmp-";

  static absl::StatusOr<std::unique_ptr<DirectoryModelStore>> Create(
      const std::string& root, std::shared_ptr<StoreEnv> env = nullptr);

  absl::StatusOr<std::string> PutVersion(const std::string& model, const std::string& digest,
                                         const std::string& source_dir,
                                         const std::map<std::string, std::string>& files) override;
  bool HasFile(const std::string& key, const std::string& name) const override;
  absl::StatusOr<int64_t> FileSize(const std::string& key, const std::string& name) const override;
  absl::StatusOr<std::string> ReadChunk(const std::string& key, const std::string& name,
                                        int64_t offset, int64_t max_bytes) const override;
  absl::StatusOr<std::string> ReadWhole(const std::string& key,
                                        const std::string& name) const override;
  absl::StatusOr<std::string> LocalDirectory(const std::string& key) const override;
  absl::Status RemoveVersion(const std::string& key) override;
  absl::StatusOr<std::vector<StoreEntry>> ListEntries() const override;
  absl::Status RemoveEntry(const StoreEntry& entry) override;

  const std::string& root() const { return root_; }

 private:
  DirectoryModelStore(std::string root, std::shared_ptr<StoreEnv> env)
      : root_(std::move(root)), env_(std::move(env)) {}
  absl::StatusOr<std::string> PathOf(const std::string& key, const std::string& name) const;

  std::string root_;
  std::shared_ptr<StoreEnv> env_;
};

}  // namespace lethe
