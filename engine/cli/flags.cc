#include "engine/cli/flags.h"

#include <cstdlib>

#include "engine/base/error.h"

namespace lethe::cli {

Flags::Flags(int argc, char** argv, const std::set<std::string>& known,
             const std::set<std::string>& switches) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (!known.count(name) && !switches.count(name)) throw Error("unknown flag --" + name);
    if (switches.count(name)) {
      if (has_value) throw Error("flag --" + name + " takes no value");
      values_[name] = "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) throw Error("flag --" + name + " needs a value");
      value = argv[++i];
    }
    values_[name] = value;
  }
}

std::string Flags::Get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second;
}

std::string Flags::Require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("missing required flag --" + name);
  return it->second;
}

int64_t Flags::GetInt(const std::string& name, int64_t def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0')
    throw Error("flag --" + name + " expects an integer, got \"" + it->second + "\"");
  return v;
}

double Flags::GetDouble(const std::string& name, double def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0')
    throw Error("flag --" + name + " expects a number, got \"" + it->second + "\"");
  return v;
}

}  // namespace lethe::cli
