// Writes the chunk stream of DownloadModelVersion into a directory and proves that what
// landed on disk is what the server holds: chunks must arrive in order, each file's size
// and SHA-256 must match its header, and (for a whole version) manifest.json must hash to
// the version's sha256 and every file it names must have arrived with that hash (files
// outside the manifest, such as a sample grid, are checked against their chunk headers). Files are
// written as NAME.part and renamed only once verified, so a broken download never leaves a
// plausible file.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "engine/base/sha256.h"
#include "lethe/v1/models.pb.h"

namespace lethe::cli {

struct DownloadedFile {
  std::string name;
  std::string path;
  int64_t size = 0;
  std::string sha256;
};

class DownloadWriter {
 public:
  explicit DownloadWriter(std::string dir) : dir_(std::move(dir)) {}
  ~DownloadWriter();  // removes a half-written .part file
  DownloadWriter(const DownloadWriter&) = delete;
  DownloadWriter& operator=(const DownloadWriter&) = delete;

  // DATA_LOSS for any inconsistency (unsafe name, out-of-order offset, size or hash
  // mismatch, a chunk from another version); INTERNAL for local I/O errors.
  absl::Status Accept(const lethe::v1::DownloadChunk& chunk);
  // After the stream: every file completed; for a whole-version download
  // (`whole_version`), the manifest checks above.
  absl::Status Finish(bool whole_version);

  int64_t version_id() const { return version_id_; }
  const std::string& version_sha256() const { return version_sha256_; }
  const std::map<std::string, DownloadedFile>& files() const { return files_; }

 private:
  absl::Status AcceptChunk(const lethe::v1::DownloadChunk& chunk);
  absl::Status StartFile(const lethe::v1::DownloadChunk& chunk);
  void Abandon();

  std::string dir_;
  int64_t version_id_ = -1;
  std::string version_sha256_;
  // The file being received.
  std::string current_name_;
  std::string current_part_;
  int64_t current_size_ = 0;
  std::string current_expected_sha_;
  int64_t current_written_ = 0;
  std::unique_ptr<std::ofstream> current_out_;
  std::unique_ptr<Sha256> current_hash_;
  std::map<std::string, DownloadedFile> files_;
};

// The directory a download writes into. Create() makes it (and missing parents) and
// remembers the topmost directory it had to create; unless Keep() is called, destruction
// removes the files the download completed and every directory Create() made, so a failed
// download leaves no partial folder behind (a directory that already existed keeps its
// other contents).
class DownloadDir {
 public:
  DownloadDir() = default;
  ~DownloadDir();
  DownloadDir(const DownloadDir&) = delete;
  DownloadDir& operator=(const DownloadDir&) = delete;

  // INTERNAL when the directory cannot be made.
  absl::Status Create(const std::string& dir);
  // Files to remove if the download fails (the writer's completed files).
  void Track(const DownloadWriter& writer) { writer_ = &writer; }
  void Keep() { keep_ = true; }

 private:
  std::string dir_;
  std::string created_root_;  // "" when `dir_` existed
  const DownloadWriter* writer_ = nullptr;
  bool keep_ = false;
};

// A plain file name: non-empty, no '/', not "." or "..", no control characters.
bool IsSafeFileName(const std::string& name);

}  // namespace lethe::cli
