// Serving stored model files only when they are what the database says they are. A byte
// flipped on disk must not reach a client as a valid file: every served file is hashed
// and compared with the SHA-256 recorded when its version was published. A streamed file
// is hashed while it is read, and the chunk that completes it is handed out only after the
// whole file has matched, so a client never sees a corrupt file marked complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model_store.h"

namespace lethe {

// One piece of a file for the client: `data` starts at `offset` of a file of `size`
// bytes; `last` marks the piece that completes the file.
struct FileChunk {
  int64_t offset = 0;
  int64_t size = 0;
  std::string data;
  bool last = false;
};

// DATA_LOSS, reason STORED_FILE_CORRUPT, naming the file and both hashes.
absl::Status StoredFileCorrupt(const std::string& key, const std::string& name,
                               const std::string& expected_sha256,
                               const std::string& actual_sha256);

// The whole file, or STORED_FILE_CORRUPT when it does not hash to `expected_sha256`.
absl::StatusOr<std::string> ReadVerifiedFile(const ModelStore& store, const std::string& key,
                                             const std::string& name,
                                             const std::string& expected_sha256);

// Reads the file in chunks of at most `chunk_bytes` and passes each to `emit`, holding
// back the final one until the file has hashed to `expected_sha256` (else
// STORED_FILE_CORRUPT, and the final chunk is never emitted). A file that ends early is
// DATA_LOSS too. Stops at the first error `emit` returns.
absl::Status StreamVerifiedFile(const ModelStore& store, const std::string& key,
                                const std::string& name, const std::string& expected_sha256,
                                int64_t chunk_bytes,
                                const std::function<absl::Status(FileChunk)>& emit);

}  // namespace lethe
