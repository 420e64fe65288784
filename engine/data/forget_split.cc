#include "engine/data/forget_split.h"

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"

namespace lethe::data {

ForgetSplit SplitByItems(const Dataset& train, const std::vector<std::string>& ids) {
  if (ids.empty()) throw Error("the forget set is empty");
  std::unordered_map<std::string, int64_t> index;
  index.reserve(train.ids.size());
  for (size_t i = 0; i < train.ids.size(); ++i) index.emplace(train.ids[i], int64_t(i));
  std::vector<int64_t> forget;
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    auto it = index.find(id);
    if (it == index.end()) throw Error("item \"" + id + "\" is not in data set " + train.name);
    if (!seen.insert(id).second) throw Error("item \"" + id + "\" is listed twice");
    forget.push_back(it->second);
  }
  ForgetSplit split;
  split.forgotten = train.Subset(forget);
  split.retained = train.Without(seen);
  return split;
}

ForgetSplit SplitByClass(const Dataset& train, int forget_class) {
  if (forget_class < 0 || forget_class >= train.num_classes)
    throw Error("class " + std::to_string(forget_class) + " out of range [0, " +
                std::to_string(train.num_classes) + ") of data set " + train.name);
  std::vector<int64_t> forget = train.IndicesOfClass(forget_class);
  if (forget.empty())
    throw Error("data set " + train.name + " has no item of class " + std::to_string(forget_class));
  std::vector<int64_t> keep;
  keep.reserve(size_t(train.size()) - forget.size());
  size_t f = 0;
  for (int64_t i = 0; i < train.size(); ++i) {
    if (f < forget.size() && forget[f] == i) {
      ++f;
      continue;
    }
    keep.push_back(i);
  }
  return {train.Subset(keep), train.Subset(forget)};
}

std::vector<std::string> ReadItemIds(const std::string& path) {
  const std::string text = ReadFile(path);
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    const size_t b = line.find_first_not_of(" \t\r");
    const size_t e = line.find_last_not_of(" \t\r");
    line = b == std::string::npos ? "" : line.substr(b, e - b + 1);
    if (!line.empty() && line[0] != '#') ids.push_back(line);
    pos = end + 1;
  }
  if (ids.empty()) throw Error("no item ids in " + path);
  return ids;
}

}  // namespace lethe::data
