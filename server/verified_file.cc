#include "server/verified_file.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "engine/base/sha256.h"

namespace lethe {

absl::Status StoredFileCorrupt(const std::string& key, const std::string& name,
                               const std::string& expected_sha256,
                               const std::string& actual_sha256) {
  return MakeError(
      absl::StatusCode::kDataLoss, "STORED_FILE_CORRUPT",
      absl::StrCat("the stored file ", key, "/", name,
                   " does not match its recorded SHA-256 (expected ", expected_sha256, ", found ",
                   actual_sha256, "); it is not served"),
      {{"file", name}, {"expected_sha256", expected_sha256}, {"actual_sha256", actual_sha256}});
}

absl::StatusOr<std::string> ReadVerifiedFile(const ModelStore& store, const std::string& key,
                                             const std::string& name,
                                             const std::string& expected_sha256) {
  ASSIGN_OR_RETURN(std::string data, store.ReadWhole(key, name));
  std::string actual = Sha256Hex(data);
  if (actual != expected_sha256) return StoredFileCorrupt(key, name, expected_sha256, actual);
  return data;
}

absl::Status StreamVerifiedFile(const ModelStore& store, const std::string& key,
                                const std::string& name, const std::string& expected_sha256,
                                int64_t chunk_bytes,
                                const std::function<absl::Status(FileChunk)>& emit) {
  if (chunk_bytes <= 0) return absl::InvalidArgumentError("chunk size must be positive");
  ASSIGN_OR_RETURN(int64_t size, store.FileSize(key, name));
  Sha256 hash;
  int64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::string data, store.ReadChunk(key, name, offset, chunk_bytes));
    if (data.empty() && offset < size) {
      return MakeError(absl::StatusCode::kDataLoss, "STORED_FILE_CORRUPT",
                       absl::StrCat("the stored file ", key, "/", name, " ended after ", offset,
                                    " of ", size, " bytes"),
                       {{"file", name}});
    }
    hash.Update(data);
    FileChunk chunk;
    chunk.offset = offset;
    chunk.size = size;
    offset += int64_t(data.size());
    chunk.last = offset >= size;
    chunk.data = std::move(data);
    if (chunk.last) {
      std::string actual = hash.FinishHex();
      if (actual != expected_sha256) return StoredFileCorrupt(key, name, expected_sha256, actual);
    }
    RETURN_IF_ERROR(emit(std::move(chunk)));
    if (offset >= size) return absl::OkStatus();
  }
}

}  // namespace lethe
