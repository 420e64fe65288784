#include "engine/data/data_source.h"

#include "engine/base/error.h"
#include "engine/data/dataset.h"

namespace lethe::data {
namespace {

std::string Canonical(const std::string& spec) {
  if (spec.empty() || spec == "fashion-mnist") return kFashionMnistDir;
  std::string s = spec;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

DataSource RecordedDataSource(const Json& manifest) {
  DataSource source;
  if (!manifest.is_object() || !manifest.Has("dataset") || !manifest.at("dataset").is_object())
    return source;
  const Json& d = manifest.at("dataset");
  source.head = d.GetInt("head", -1);
  source.spec = d.GetString("spec", "");
  if (!source.spec.empty()) return source;
  const std::string name = d.GetString("name", "");
  const std::string suffix = "/train";
  if (name == "fashion-mnist/train") {
    source.spec = "fashion-mnist";
  } else if (name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    source.spec = name.substr(0, name.size() - suffix.size());
  }
  return source;
}

DataSource ChooseDataSource(const std::string& flag, const Json& manifest) {
  DataSource recorded = RecordedDataSource(manifest);
  if (flag.empty()) {
    if (recorded.spec.empty()) recorded.spec = "fashion-mnist";
    return recorded;
  }
  if (!recorded.spec.empty() && Canonical(flag) != Canonical(recorded.spec))
    throw Error("--data " + flag + " is not the data set this model was trained on (" +
                recorded.spec + "); leave --data out to use the recorded one");
  DataSource chosen;
  chosen.spec = flag;
  chosen.head = recorded.head;
  return chosen;
}

}  // namespace lethe::data
