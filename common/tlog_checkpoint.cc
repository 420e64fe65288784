#include "common/tlog_checkpoint.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/signed_note.h"

namespace lethe {

std::string FormatCheckpointText(const TlogCheckpoint& c) {
  return absl::StrCat(c.origin, "\n", c.size, "\n", Base64Encode(c.root), "\ntime ", c.time, "\n");
}

absl::StatusOr<TlogCheckpoint> ParseCheckpointText(std::string_view text) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not an audit checkpoint: ", std::string(why)));
  };
  if (text.empty() || text.back() != '\n') return bad("the text does not end in a newline");
  text.remove_suffix(1);
  std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(text.data(), text.size()), '\n');
  if (lines.size() < 4) return bad("fewer than four lines (origin, size, root, time)");
  TlogCheckpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return bad("line 1 (origin) is empty");
  if (lines[1].empty() || lines[1].size() > 19 ||
      lines[1].find_first_not_of("0123456789") != std::string::npos ||
      (lines[1].size() > 1 && lines[1][0] == '0') || !absl::SimpleAtoi(lines[1], &c.size)) {
    return bad(absl::StrCat("line 2 (tree size) \"", lines[1], "\" is not a decimal number"));
  }
  if (!Base64Decode(lines[2], &c.root) || c.root.size() != 32) {
    return bad("line 3 (root hash) is not base64 of 32 bytes");
  }
  bool have_time = false;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].substr(0, 5) == "time ") {
      if (have_time) return bad("two time lines");
      c.time = lines[i].substr(5);
      have_time = true;
    }
  }
  if (!have_time || c.time.size() != 20 || c.time.back() != 'Z' || c.time[10] != 'T') {
    return bad("no \"time YYYY-MM-DDTHH:MM:SSZ\" line");
  }
  return c;
}

}  // namespace lethe
