// The file-system calls the directory model store makes when it writes, behind a small
// interface (as LevelDB's Env): the POSIX implementation is what runs; tests substitute one
// that fails chosen calls (disk full on a write, an fsync or the final rename) to prove
// that a failed publish leaves no half-written version and no temporary files behind.
// Errors are statuses: ENOSPC/EDQUOT -> RESOURCE_EXHAUSTED (retry later), others ->
// INTERNAL; the message names the call, the path and strerror.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lethe {

class StoreEnv {
 public:
  class WritableFile {
   public:
    virtual ~WritableFile() = default;
    virtual absl::Status Append(std::string_view data) = 0;
    virtual absl::Status Sync() = 0;  // fsync
    virtual absl::Status Close() = 0;
  };

  virtual ~StoreEnv() = default;
  // Creates `path` and any missing parents.
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // A new file at `path`; fails if it exists.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Renames a directory; ALREADY_EXISTS when `to` exists and is not empty.
  virtual absl::Status RenameDir(const std::string& from, const std::string& to) = 0;
  // Removes `path` recursively; OK when it does not exist.
  virtual absl::Status RemoveAll(const std::string& path) = 0;
};

// The real file system.
std::unique_ptr<StoreEnv> NewPosixStoreEnv();

// The status for a failed call: `what` ("write", "fsync", ...) on `path` with errno `err`.
absl::Status StoreErrnoStatus(int err, const std::string& what, const std::string& path);

}  // namespace lethe
