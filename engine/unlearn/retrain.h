// Exact unlearning, the baseline every cascade is measured against: train the same
// architecture from scratch, with the base model's own schedule (iterations, batch, seed,
// learning rates, R1, EMA), through the same training loop, on the data set without the
// forget set.
#pragma once

#include <torch/torch.h>

#include <set>
#include <string>

#include "engine/base/cancel.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/models/checkpoint.h"
#include "engine/train/trainer.h"

namespace lethe::unlearn {

struct RetrainOptions {
  std::string out_dir;  // where TrainGan writes the new checkpoint ("" = nowhere)
  torch::Device device = torch::kCPU;
  Json extra_manifest = Json::Object();  // e.g. parent, forgotten items
  int64_t iterations = 0;                // > 0 overrides the base schedule (benchmarks on a budget)
  std::function<void(const train::TrainProgress&)> on_progress;
  int64_t log_every = 100;
  CancelToken* cancel = nullptr;
};

// `retained` must hold no id of `forgotten` (throws lethe::Error naming the first one).
train::TrainResult Retrain(const models::Checkpoint& base, const data::Dataset& retained,
                           const std::set<std::string>& forgotten, const RetrainOptions& options);

// The schedule Retrain uses (the base's, with the device and overrides applied).
train::TrainOptions RetrainSchedule(const models::Checkpoint& base, const RetrainOptions& options);

}  // namespace lethe::unlearn
