#include "client/args.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lethe::cli {
namespace {

const FlagSpec* FindSpec(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool LooksLikeFlag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string NormalizeChoice(const std::string& s) {
  std::string out = absl::AsciiStrToLower(s);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

}  // namespace

std::string ParsedArgs::Get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return def;
  return it->second.back();
}

std::optional<std::string> ParsedArgs::GetOptional(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<ParsedArgs> ParseFlags(const std::vector<FlagSpec>& specs,
                                      const std::vector<std::string>& args) {
  ParsedArgs out;
  std::set<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) out.AddPositional(args[i]);
      break;
    }
    if (!LooksLikeFlag(arg)) {
      out.AddPositional(arg);
      continue;
    }
    std::string body = arg == "-h" ? "help" : arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = FindSpec(specs, body);
    if (spec == nullptr) return Invalid(absl::StrCat("unknown flag --", body));
    const std::string flag = absl::StrCat("--", spec->name);
    switch (spec->kind) {
      case FlagKind::kBool:
        if (inline_value) return Invalid(absl::StrCat(flag, " takes no value"));
        out.Add(spec->name, "true");
        break;
      case FlagKind::kValue:
      case FlagKind::kRepeated: {
        if (spec->kind == FlagKind::kValue && !seen.insert(spec->name).second) {
          return Invalid(absl::StrCat(flag, " given more than once"));
        }
        if (inline_value) {
          out.Add(spec->name, *inline_value);
        } else {
          if (i + 1 >= args.size()) {
            return Invalid(absl::StrCat(flag, " needs a value (", spec->value_name, ")"));
          }
          out.Add(spec->name, args[++i]);
        }
        break;
      }
      case FlagKind::kMulti: {
        size_t taken = 0;
        if (inline_value) {
          out.Add(spec->name, *inline_value);
          ++taken;
        }
        while (i + 1 < args.size() && !LooksLikeFlag(args[i + 1])) {
          out.Add(spec->name, args[++i]);
          ++taken;
        }
        if (taken == 0) {
          return Invalid(absl::StrCat(flag, " needs at least one value (", spec->value_name, ")"));
        }
        break;
      }
    }
  }
  return out;
}

absl::StatusOr<ResolvedCommand> ResolveCommand(
    const std::vector<std::vector<std::string>>& commands, const std::vector<FlagSpec>& globals,
    const std::vector<std::string>& args) {
  ResolvedCommand out;
  std::vector<std::string> words;
  size_t i = 0;
  bool resolved = false;
  for (; i < args.size() && !resolved; ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (LooksLikeFlag(arg)) {
      std::string body = arg == "-h" ? "help" : arg.substr(arg[1] == '-' ? 2 : 1);
      bool has_inline = body.find('=') != std::string::npos;
      body = body.substr(0, body.find('='));
      const FlagSpec* spec = FindSpec(globals, body);
      if (spec == nullptr) {
        std::string where = words.empty() ? "" : absl::StrCat(" '", absl::StrJoin(words, " "), "'");
        return Invalid(
            absl::StrCat("unknown flag --", body, " before the command", where, " is complete"));
      }
      out.rest.push_back(arg);
      if (spec->kind != FlagKind::kBool && !has_inline && i + 1 < args.size()) {
        out.rest.push_back(args[++i]);
      }
      continue;
    }
    words.push_back(arg);
    bool exact = false;
    std::vector<std::string> next_words;
    for (size_t c = 0; c < commands.size(); ++c) {
      const auto& cmd = commands[c];
      if (cmd.size() < words.size()) continue;
      if (!std::equal(words.begin(), words.end(), cmd.begin())) continue;
      if (cmd.size() == words.size()) {
        exact = true;
        out.index = c;
      } else if (std::find(next_words.begin(), next_words.end(), cmd[words.size()]) ==
                 next_words.end()) {
        next_words.push_back(cmd[words.size()]);
      }
    }
    if (exact) {
      resolved = true;
    } else if (next_words.empty()) {
      if (words.size() == 1) return Invalid(absl::StrCat("unknown command '", arg, "'"));
      words.pop_back();
      return Invalid(absl::StrCat("unknown command '", absl::StrJoin(words, " "), " ", arg, "'"));
    }
  }
  if (!resolved) {
    if (words.empty()) return Invalid("missing command");
    std::vector<std::string> next_words;
    for (const auto& cmd : commands) {
      if (cmd.size() > words.size() && std::equal(words.begin(), words.end(), cmd.begin()) &&
          std::find(next_words.begin(), next_words.end(), cmd[words.size()]) == next_words.end()) {
        next_words.push_back(cmd[words.size()]);
      }
    }
    return Invalid(absl::StrCat("'", absl::StrJoin(words, " "),
                                "' needs a subcommand: ", absl::StrJoin(next_words, ", ")));
  }
  for (; i < args.size(); ++i) out.rest.push_back(args[i]);
  return out;
}

absl::StatusOr<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                                     int64_t max) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < min || v > max) {
    return Invalid(
        absl::StrCat(flag, ": expected an integer in [", min, ", ", max, "], got \"", value, "\""));
  }
  return v;
}

absl::StatusOr<double> ParseDoubleFlag(const std::string& flag, const std::string& value) {
  double v = 0;
  if (!absl::SimpleAtod(value, &v) || !std::isfinite(v)) {
    return Invalid(absl::StrCat(flag, ": expected a finite number, got \"", value, "\""));
  }
  return v;
}

absl::StatusOr<double> ParseDurationSeconds(const std::string& flag, const std::string& value) {
  absl::string_view number = value;
  double scale = 1;
  auto strip = [&](absl::string_view suffix, double s) {
    if (number.size() > suffix.size() && absl::EndsWith(number, suffix)) {
      number.remove_suffix(suffix.size());
      scale = s;
      return true;
    }
    return false;
  };
  strip("ms", 0.001) || strip("s", 1) || strip("m", 60) || strip("h", 3600);
  double v = 0;
  if (!absl::SimpleAtod(number, &v) || !std::isfinite(v) || v <= 0) {
    return Invalid(absl::StrCat(
        flag, ": expected a positive duration such as 30s, 2m or 1h, got \"", value, "\""));
  }
  return v * scale;
}

absl::StatusOr<int> ParseChoice(const std::string& flag, const std::string& value,
                                const std::vector<std::pair<std::string, int>>& choices) {
  const std::string wanted = NormalizeChoice(value);
  std::vector<std::string> names;
  for (const auto& [name, id] : choices) {
    if (NormalizeChoice(name) == wanted) return id;
    names.push_back(name);
  }
  return Invalid(
      absl::StrCat(flag, ": expected one of ", absl::StrJoin(names, "|"), ", got \"", value, "\""));
}

std::vector<std::string> ParseItemsFile(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    absl::string_view line =
        absl::StripAsciiWhitespace(absl::string_view(text).substr(pos, end - pos));
    if (!line.empty() && line[0] != '#') out.emplace_back(line);
    pos = end + 1;
  }
  return out;
}

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const FlagSpec& s : specs) {
    std::string left = absl::StrCat("  --", s.name);
    if (s.kind != FlagKind::kBool) absl::StrAppend(&left, " ", s.value_name);
    if (s.kind == FlagKind::kMulti) absl::StrAppend(&left, "...");
    width = std::max(width, left.size());
    rows.emplace_back(left, s.help);
  }
  std::string out;
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, left, std::string(width - left.size() + 2, ' '), help, "\n");
  }
  return out;
}

}  // namespace lethe::cli
