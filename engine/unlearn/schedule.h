// The training schedule a checkpoint records in its manifest ("training": iterations,
// batch, seed, learning rates, betas, R1, EMA...). Retraining reruns it exactly, and the
// cascade takes its optimiser settings from it, so comparisons are like for like.
#pragma once

#include "engine/base/json.h"
#include "engine/train/trainer.h"

namespace lethe::unlearn {

// Reads manifest["training"]; throws lethe::Error naming the first missing member of the
// schedule (iterations, batch, seed). Optional members keep TrainOptions' defaults.
train::TrainOptions ScheduleFromManifest(const Json& manifest);

}  // namespace lethe::unlearn
