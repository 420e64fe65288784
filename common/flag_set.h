// Command-line flags with environment-variable fallbacks, for the typed configuration
// structs of Lethe's processes. Precedence: flag > environment > default. Each flag names
// its variable, so `--help` documents both, and a deployment can configure a process
// entirely from its environment.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace lethe {

class FlagSet {
 public:
  // Looks up an environment variable; std::nullopt when unset.
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

  explicit FlagSet(std::string usage);

  // `name` without dashes ("listen"); `env` may be empty (no variable).
  void AddString(const std::string& name, const std::string& env, std::string* target,
                 const std::string& help);
  void AddInt(const std::string& name, const std::string& env, int64_t* target,
              const std::string& help);
  void AddDouble(const std::string& name, const std::string& env, double* target,
                 const std::string& help);
  // `--name`, `--name=true|false|1|0`, `--no-name`; the variable takes true/false/1/0.
  void AddBool(const std::string& name, const std::string& env, bool* target,
               const std::string& help);

  // Applies the environment (through `env`, default getenv), then `args` (argv without the
  // program and subcommand names). Non-flag arguments go to *positional; "--" ends flags.
  // Errors name the flag or variable and the bad value. `--help` sets help_requested().
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional,
                     const EnvLookup& env = nullptr);

  bool help_requested() const { return help_requested_; }
  std::string Help() const;

 private:
  enum class Kind { kString, kInt, kDouble, kBool };
  struct Flag {
    std::string name;
    std::string env;
    Kind kind;
    void* target;
    std::string help;
    std::string default_text;
  };
  absl::Status Set(const Flag& flag, const std::string& value, const std::string& source);
  const Flag* Find(const std::string& name) const;

  std::string usage_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace lethe
