// Where a model's training data comes from, as its manifest records it ("dataset": {"spec",
// "head"}), so that `unlearn`, `evaluate`, `retrain` and `invert` read exactly the data the
// model was trained on without being told, and refuse a --data that names other data
// (unlearning on the wrong data set would "forget" items the model never saw).
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/json.h"

namespace lethe::data {

struct DataSource {
  std::string spec;   // a LoadDataset spec: "fashion-mnist", a directory
  int64_t head = -1;  // only the source's first N items were trained on; -1 = all
};

// The data source a manifest records: dataset.spec / dataset.head when present; for
// manifests written before they were recorded, "fashion-mnist" when dataset.name is
// "fashion-mnist/train", else the directory in front of "/train". Empty spec when unknown.
DataSource RecordedDataSource(const Json& manifest);

// The source a command uses: the recorded one when `flag` is empty; the flag's when the
// manifest records none; throws lethe::Error when both are known and differ (after
// resolving "" and "fashion-mnist" to the installed data set's directory).
DataSource ChooseDataSource(const std::string& flag, const Json& manifest);

}  // namespace lethe::data
