// The text of an audit checkpoint (a signed tree head): the size and RFC 9162 root hash
// of the audit log's Merkle tree at one moment, in the C2SP tlog-checkpoint format plus
// one extension line with the time it was made:
//
//   <origin>\n                   the log's name, e.g. "lethe.example.org/audit"
//   <tree size, decimal>\n
//   <base64 of the 32-byte root hash>\n
//   time <RFC 3339 UTC, seconds>\n
//
// signed as a note (common/signed_note.h) by a key named like the origin.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lethe {

struct TlogCheckpoint {
  std::string origin;
  int64_t size = 0;
  std::string root;  // 32 raw bytes
  std::string time;  // "2026-01-02T03:04:05Z"
};

std::string FormatCheckpointText(const TlogCheckpoint& checkpoint);
// INVALID_ARGUMENT naming the bad line.
absl::StatusOr<TlogCheckpoint> ParseCheckpointText(std::string_view text);

}  // namespace lethe
