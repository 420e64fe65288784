#include "common/flag_set.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace lethe {

FlagSet::FlagSet(std::string usage) : usage_(std::move(usage)) {}

void FlagSet::AddString(const std::string& name, const std::string& env, std::string* target,
                        const std::string& help) {
  flags_.push_back({name, env, Kind::kString, target, help, *target});
}

void FlagSet::AddInt(const std::string& name, const std::string& env, int64_t* target,
                     const std::string& help) {
  flags_.push_back({name, env, Kind::kInt, target, help, std::to_string(*target)});
}

void FlagSet::AddDouble(const std::string& name, const std::string& env, double* target,
                        const std::string& help) {
  flags_.push_back({name, env, Kind::kDouble, target, help, absl::StrCat(*target)});
}

void FlagSet::AddBool(const std::string& name, const std::string& env, bool* target,
                      const std::string& help) {
  flags_.push_back({name, env, Kind::kBool, target, help, *target ? "true" : "false"});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status FlagSet::Set(const Flag& flag, const std::string& value, const std::string& source) {
  switch (flag.kind) {
    case Kind::kString:
      *static_cast<std::string*>(flag.target) = value;
      return absl::OkStatus();
    case Kind::kInt: {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno == ERANGE) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": expected an integer, got \"", value, "\""));
      }
      *static_cast<int64_t*>(flag.target) = v;
      return absl::OkStatus();
    }
    case Kind::kDouble: {
      errno = 0;
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": expected a finite number, got \"", value, "\""));
      }
      *static_cast<double*>(flag.target) = v;
      return absl::OkStatus();
    }
    case Kind::kBool:
      if (value == "true" || value == "1" || value == "yes") {
        *static_cast<bool*>(flag.target) = true;
      } else if (value == "false" || value == "0" || value == "no") {
        *static_cast<bool*>(flag.target) = false;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": expected true or false, got \"", value, "\""));
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unknown flag kind");
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            std::vector<std::string>* positional, const EnvLookup& env) {
  EnvLookup lookup = env;
  if (!lookup) {
    lookup = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  for (const Flag& flag : flags_) {
    if (flag.env.empty()) continue;
    std::optional<std::string> value = lookup(flag.env);
    if (!value) continue;
    absl::Status s = Set(flag, *value, "environment variable " + flag.env);
    if (!s.ok()) return s;
  }
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (positional == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
      }
      positional->push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string body = arg.substr(2);
    if (body == "help") {
      help_requested_ = true;
      continue;
    }
    std::string name = body;
    std::optional<std::string> value;
    size_t eq = body.find('=');
    if (eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    const Flag* flag = Find(name);
    if (flag == nullptr && !value && name.compare(0, 3, "no-") == 0) {
      const Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->kind == Kind::kBool) {
        *static_cast<bool*>(negated->target) = false;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value) {
      if (flag->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    absl::Status s = Set(*flag, *value, "flag --" + name);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FlagSet::Help() const {
  std::string out = usage_;
  if (!out.empty() && out.back() != '\n') out += "\n";
  out += "\nFlags (each also read from the environment variable shown):\n";
  for (const Flag& f : flags_) {
    std::string head = "  --" + f.name;
    if (f.kind != Kind::kBool) head += " VALUE";
    if (!f.env.empty()) head += "  [$" + f.env + "]";
    out += head + "\n      " + f.help;
    if (!f.default_text.empty()) out += " (default: " + f.default_text + ")";
    out += "\n";
  }
  return out;
}

}  // namespace lethe
