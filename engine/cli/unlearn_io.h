// The I/O shared by `lethe-engine unlearn`, `retrain` and `invert`: loading the model with
// the data it was trained on and the forget split, the before/after evaluation (the same
// metrics function as `lethe-engine evaluate`, so a report's numbers are reproducible by
// it), cooperative cancellation on SIGINT/SIGTERM, and atomic report files.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <set>
#include <string>

#include "engine/base/cancel.h"
#include "engine/base/json.h"
#include "engine/cli/flags.h"
#include "engine/data/dataset.h"
#include "engine/data/forget_split.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/registry.h"
#include "engine/models/checkpoint.h"

namespace lethe::cli {

using Clock = std::chrono::steady_clock;
// Exit statuses of the unlearning commands (0 success, 1 error).
inline constexpr int kExitNotReached = 3;
inline constexpr int kExitInterrupted = 130;

double SecondsSince(Clock::time_point t);

// While alive, SIGINT / SIGTERM cancel `token` (the engine checks it once per iteration).
class SignalCancel {
 public:
  explicit SignalCancel(CancelToken* token);
  ~SignalCancel();
  SignalCancel(const SignalCancel&) = delete;
  SignalCancel& operator=(const SignalCancel&) = delete;
};

// Throws when `dir` exists and is not empty, before any work: outputs are never
// overwritten, and the model is only saved into an empty directory.
void RequireEmptyOutput(const std::string& dir);

// The model, the data it was trained on (minus tombstoned items) and the forget split.
struct Inputs {
  models::Checkpoint model;
  std::string model_dir;
  data::Dataset test;
  bool has_test = false;
  data::ForgetSplit split;
  int forget_class = -1;
  std::set<std::string> excluded;  // tombstoned ids (never read) + the forget set
};

// --model, --data, --exclude and exactly one of --forget-items / --forget-class.
Inputs LoadInputs(const Flags& flags, torch::Device device);

// The metric inputs of a before/after evaluation (--num-generated, --max-real, --max-scored).
metrics::MetricInputs MetricInputsFor(const Inputs& in, const Flags& flags,
                                      const metrics::Evaluator& evaluator, torch::Device device,
                                      uint64_t seed);
// The generator-side membership attacks of a report (--attack-steps, --attack-members,
// --attack-samples; the commands that take them declare them): the re-inversion uses the
// engine's inversion, seeded from `seed`, so `evaluate` reproduces `unlearn`'s numbers.
void AddMembershipAttacks(const Flags& flags, uint64_t seed, metrics::MetricInputs* m);
Json Evaluate(metrics::MetricInputs m, models::Generator g, models::Discriminator d);

// Throws when the evaluator's image shape differs from the model's.
void CheckEvaluator(const metrics::Evaluator& e, const models::ModelConfig& c,
                    const std::string& dir);

// Writes `j` (indented) atomically, creating the parent directory.
void WriteJsonFile(const std::string& path, const Json& j);

}  // namespace lethe::cli
