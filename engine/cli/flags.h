// Minimal flag parsing for lethe-engine subcommands: --name value, --name=value and bare
// --switch. Unknown flags are an error so a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lethe::cli {

class Flags {
 public:
  // `known` lists accepted flag names (without "--"); `switches` those taking no value.
  // Throws lethe::Error on an unknown flag or a missing value.
  Flags(int argc, char** argv, const std::set<std::string>& known,
        const std::set<std::string>& switches = {});

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const;
  std::string Require(const std::string& name) const;  // throws naming the flag
  int64_t GetInt(const std::string& name, int64_t def) const;
  double GetDouble(const std::string& name, double def) const;
  bool GetBool(const std::string& name) const { return Has(name); }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace lethe::cli
