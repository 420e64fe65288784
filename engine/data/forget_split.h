// Splits a training set into what a deletion request forgets and what it retains, and
// reads the plain-text lists of item ids that requests are written as. Unknown ids are
// an error, never silently ignored: a request that names an item we do not hold must say so.
#pragma once

#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace lethe::data {

struct ForgetSplit {
  Dataset retained;   // D_l = D_train \ D_u, order kept
  Dataset forgotten;  // D_u, in the order the ids were given (class: data set order)
};

// Items by id. Throws lethe::Error naming the first id not in `train`, or a duplicate.
ForgetSplit SplitByItems(const Dataset& train, const std::vector<std::string>& ids);
// Every item of class `forget_class`. Throws when the class is out of range or empty.
ForgetSplit SplitByClass(const Dataset& train, int forget_class);

// One id per line; surrounding whitespace trimmed, blank lines and lines starting with
// '#' skipped. Throws lethe::Error naming the file when it cannot be read or lists none.
std::vector<std::string> ReadItemIds(const std::string& path);

}  // namespace lethe::data
