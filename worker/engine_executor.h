// The engine side of a job: loads the base version and the model's training data, builds
// the forget set (training items by id, uploaded images that matched no item, or a whole
// class), runs cascaded unlearning (or, for a retraining job, exact retraining), measures
// the base and the new model, and writes the new version (weights, manifest, report.json,
// sample.png) into a local directory for the model store.
//
// Retained data is loaded with LoadOptions.exclude = the job's forget items, every
// tombstone of the model, and every item whose content hash equals a forgotten one, so a
// forgotten item (or a copy of it) can never be served as retained data; the few-shot
// source is wrapped so that every item it serves is checked against that set again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "worker/executor.h"

namespace lethe::worker {

struct EngineOptions {
  std::string device = "cpu";
  int threads = 0;  // <= 0: LibTorch's default
  std::string evaluator_dir;
  // The loader spec of a model's training data set ("" = derive from its dataset name).
  std::function<std::string(const ModelInfo&)> data_spec;
  int64_t metric_samples = 2000;   // generated images per FD of the before/after report
  int64_t inversion_steps = 0;     // 0 = the engine's default
  // Generator-side membership attacks of the report and the generator destination: the
  // re-inversion's steps and the nearest-sample attack's samples per class.
  int64_t attack_steps = 100;
  int64_t attack_samples = 10000;
  int64_t eval_every = 0;          // cascade iterations between destination checks; 0 = default
  int64_t eval_samples = 0;        // images per destination check; 0 = default
  int64_t retrain_iterations = 0;  // 0 = the base model's own schedule
  int64_t sample_columns = 8;      // sample.png: one row per class, this many columns
  // Appends every retained item id served to a learning phase ("<job> <id>" lines), so an
  // audit can show which retained data a job read. "" = off.
  std::string served_ids_log;
  std::string worker_id;
};

class EngineExecutor : public JobExecutor {
 public:
  // Configures LibTorch (device, threads) and loads the evaluator once; errors name the
  // flag or file at fault.
  static absl::StatusOr<std::unique_ptr<EngineExecutor>> Create(const EngineOptions& options);
  ~EngineExecutor() override;

  absl::StatusOr<ExecutionResult> Execute(const JobInputs& inputs, const std::string& base_dir,
                                          const std::string& work_dir, const ProgressFn& progress,
                                          CancelToken* cancel) override;

 private:
  struct State;
  explicit EngineExecutor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The loader spec of a model's data set: "" for Fashion-MNIST, else its dataset name
// without the "/train" suffix (a directory), as the engine's loader names data sets.
std::string DataSpecFromDatasetName(const std::string& dataset_name);

}  // namespace lethe::worker
