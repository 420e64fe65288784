// Command-line parsing for lethectl: which command the words name, and the flags that
// follow it. Pure functions over argument vectors, so every rule (repeated flags,
// `--flag=value`, multi-value flags such as `--item a b c`, global flags anywhere) is
// unit-tested without a server.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace lethe::cli {

enum class FlagKind {
  kBool,      // --name (no value)
  kValue,     // --name V, once
  kRepeated,  // --name V, any number of times
  kMulti,     // --name V [V...]: takes every following argument up to the next flag;
              // may also be repeated
};

struct FlagSpec {
  std::string name;  // without the dashes
  FlagKind kind = FlagKind::kValue;
  std::string value_name;  // for help: "ID", "FILE"
  std::string help;
};

// Flags and positional arguments of one invocation.
class ParsedArgs {
 public:
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given (kValue flags are given at most once); `def` when absent.
  std::string Get(const std::string& name, const std::string& def = "") const;
  std::optional<std::string> GetOptional(const std::string& name) const;
  // Every value of a repeated or multi flag, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  void Add(const std::string& name, std::string value) {
    values_[name].push_back(std::move(value));
  }
  void AddPositional(std::string value) { positionals_.push_back(std::move(value)); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

// Parses `args` against `specs`. Errors (INVALID_ARGUMENT) name the flag: unknown flags,
// a missing value, a value given to a bool flag, a kValue flag given twice. "--" ends the
// flags; everything after it is positional.
absl::StatusOr<ParsedArgs> ParseFlags(const std::vector<FlagSpec>& specs,
                                      const std::vector<std::string>& args);

// The command words at the start of a command line ("models", "list"), skipping the
// global flags that may precede or sit between them. `commands` lists every command as its
// words; the result is the index of the longest command whose words match, with the
// remaining arguments (flags before the words included). INVALID_ARGUMENT names the
// unknown word, or lists the subcommands of a group ("submit" alone).
struct ResolvedCommand {
  size_t index = 0;
  std::vector<std::string> rest;
};
absl::StatusOr<ResolvedCommand> ResolveCommand(
    const std::vector<std::vector<std::string>>& commands, const std::vector<FlagSpec>& globals,
    const std::vector<std::string>& args);

// Typed values, with errors that name the flag ("--page-size: expected an integer in
// [1, 1000], got \"x\"").
absl::StatusOr<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                                     int64_t max);
absl::StatusOr<double> ParseDoubleFlag(const std::string& flag, const std::string& value);
// Durations: "30", "30s", "1.5s", "500ms", "2m", "1h" (a bare number is seconds); > 0.
absl::StatusOr<double> ParseDurationSeconds(const std::string& flag, const std::string& value);
// One of `choices` (exact, case-insensitive, '_' and '-' equivalent); the error lists them.
absl::StatusOr<int> ParseChoice(const std::string& flag, const std::string& value,
                                const std::vector<std::pair<std::string, int>>& choices);

// Item ids from a file's text: one per line; blank lines and lines starting with '#' are
// skipped; surrounding whitespace (including '\r') is trimmed.
std::vector<std::string> ParseItemsFile(const std::string& text);

// Help text of a command: usage line and the flags.
std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace lethe::cli
