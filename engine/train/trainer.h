// The GAN training loop. Base training, the exact-unlearning baseline (retraining on the
// retained set) and the learning phase of cascaded unlearning all run this code, so the
// speed-ups Lethe reports compare like with like.
//
// Reproducibility: the same seed, device and thread count give bit-identical weights on
// the CPU. On a GPU, cuDNN's algorithm choice and atomics in some backward kernels
// (bilinear upsampling) make runs agree only to rounding.
// Initialisation, z and synthesis noise come from LibTorch's default generators, seeded at
// the start and saved with resumable checkpoints; batches come from a data::Sampler seeded
// from the same seed and replayed on resume. A run resumed from a checkpoint therefore
// continues exactly as the uninterrupted run would have.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/base/cancel.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/models/checkpoint.h"
#include "engine/models/config.h"
#include "engine/models/discriminator.h"
#include "engine/models/generator.h"
#include "engine/train/precision.h"

namespace lethe::train {

using models::Discriminator;
using models::Generator;

// One progress report (every TrainOptions::log_every iterations and at the end).
struct TrainProgress {
  int64_t iteration = 0;   // iterations completed
  int64_t iterations = 0;  // target
  double seconds = 0;      // wall time of this run so far
  double iterations_per_second = 0;
  double eta_seconds = 0;
  double g_loss = 0;  // means over the iterations since the previous report
  double d_loss = 0;
  double r1_penalty = 0;  // mean per-sample ||grad||^2 at the last regularisation step
};

struct TrainOptions {
  int64_t iterations = 20000;  // total G+D iterations (a resumed run continues up to it)
  int batch = 32;
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  // Adam, as StyleGAN2: lr 0.0025, betas (0, 0.99), eps 1e-8.
  double g_lr = 0.0025;
  double d_lr = 0.0025;
  double beta1 = 0.0;
  double beta2 = 0.99;
  // R1 on real images every r1_interval D steps (lazy regularisation); gamma 0 disables.
  double r1_gamma = 0.2;
  int r1_interval = 16;
  // Generator EMA: half-life in thousands of images, ramped up over the first
  // ema_rampup * images seen (StyleGAN2-ADA's schedule); the EMA is the served model.
  double ema_kimg = 10.0;
  double ema_rampup = 0.05;
  double w_avg_beta = 0.995;  // running mean of mapped w
  Precision precision = Precision::kFloat32;
  int64_t class_mean_samples = 4096;  // z per class for w_class_avg after training
  int64_t checkpoint_every = 0;       // resumable snapshot to OUT.resume; 0 = never
  int64_t log_every = 100;
  std::string out_dir;      // final checkpoint (must not exist or be empty); "" = none
  std::string resume_from;  // a checkpoint written with training state
  std::function<void(const TrainProgress&)> on_progress;
  std::function<void(int64_t iteration, Generator& g_ema)> on_eval;
  int64_t eval_every = 0;  // 0 = never (on_eval is also called at the end when set)
  lethe::CancelToken* cancel = nullptr;
  // Where the training data came from, merged into the manifest's "dataset" section so that
  // the engine's commands find the same data without being told: {"spec": data spec,
  // "head": N when only the source's first N items were trained on}.
  lethe::Json data_source = lethe::Json::Object();
  // Added to every checkpoint's manifest (e.g. "parent", forgotten item hashes).
  lethe::Json extra_manifest = lethe::Json::Object();
};

struct TrainResult {
  int64_t iterations = 0;  // completed, counting those before a resume
  int64_t iterations_this_run = 0;
  bool cancelled = false;
  double seconds = 0;             // wall time of this run, everything included
  double train_seconds = 0;       // time inside training steps only
  double ms_per_iteration = 0;    // train_seconds / iterations_this_run
  double g_loss = 0, d_loss = 0;  // means over the last log interval
  std::string checkpoint_dir;     // the final checkpoint ("" if none was written)
};

// Names of the training-state files inside a resumable checkpoint.
inline constexpr const char* kTrainGeneratorFile = "train_generator.pt";
inline constexpr const char* kTrainGOptimFile = "train_g_optim.pt";
inline constexpr const char* kTrainDOptimFile = "train_d_optim.pt";
inline constexpr const char* kTrainStateFile = "train_state.pt";

// Owns G (trained), its EMA (served), D and both optimisers, and runs single iterations.
class Trainer {
 public:
  // Fresh networks initialised from options.seed (this seeds LibTorch's default RNGs).
  Trainer(const models::ModelConfig& config, const TrainOptions& options);
  // Continues a checkpoint. With its training state (raw G, optimisers, RNG, iteration)
  // the run continues exactly; without it (require_state = false) training starts from
  // its served weights with fresh optimisers, RNGs seeded from options.seed.
  Trainer(const models::Checkpoint& checkpoint, const TrainOptions& options, bool require_state);

  // One iteration: generate a batch, one D step (logistic loss + lazy R1) on
  // (real, labels) vs. the generated batch, one G step on the same generated batch, EMA
  // update. real: [N, C, R, R] on the training device, labels: [N] int64.
  void Step(const torch::Tensor& real, const torch::Tensor& labels);

  int64_t iteration() const { return iteration_; }
  // Loss sums since the last TakeLossMeans() (kept on device: no host sync per step).
  struct LossMeans {
    double g_loss = 0, d_loss = 0, r1_penalty = 0;
  };
  LossMeans TakeLossMeans();

  Generator& generator() { return g_; }
  Generator& generator_ema() { return g_ema_; }
  Discriminator& discriminator() { return d_; }
  torch::optim::Adam& g_optimizer() { return *g_opt_; }
  torch::optim::Adam& d_optimizer() { return *d_opt_; }
  const models::ModelConfig& config() const { return config_; }
  const TrainOptions& options() const { return options_; }

  // The EMA decay used at the current iteration.
  double EmaBeta() const;
  void UpdateEma();

  // Bytes of the training-state files (raw G, optimisers, RNG state and iteration).
  std::map<std::string, std::string> SerializeState() const;
  // Writes a checkpoint of the EMA generator and D; with_state adds the training state.
  void Save(const std::string& dir, const lethe::Json& extra_manifest, bool with_state,
            bool overwrite) const;

  // Snapshot / restore of LibTorch's default RNGs (CPU, and CUDA when training there), so
  // that evaluation in the middle of training does not perturb the training stream.
  std::vector<torch::Tensor> SaveRngState() const;
  void RestoreRngState(const std::vector<torch::Tensor>& state) const;

 private:
  void Init();
  void SeedRngs(uint64_t seed) const;
  void LoadState(const models::Checkpoint& checkpoint);

  models::ModelConfig config_;
  TrainOptions options_;
  Generator g_{nullptr};
  Generator g_ema_{nullptr};
  Discriminator d_{nullptr};
  std::unique_ptr<torch::optim::Adam> g_opt_, d_opt_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_params_;  // (ema, trained)
  std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_buffers_;
  std::vector<torch::Tensor> d_params_;
  int64_t iteration_ = 0;
  torch::Tensor g_loss_sum_, d_loss_sum_, r1_last_;
  int64_t loss_count_ = 0;
};

// Trains (or resumes, when options.resume_from is set) a GAN on `train` and writes the
// final checkpoint to options.out_dir with w_class_avg computed. Batches are drawn only
// from `train`: the loader decides what is in it (forgotten items are excluded there).
TrainResult TrainGan(const data::Dataset& train, const models::ModelConfig& config,
                     const TrainOptions& options);

// Where TrainGan keeps the resumable snapshot of a run writing to `out_dir`: OUT.resume
// next to it ("" for "").
std::string ResumeDirFor(const std::string& out_dir);

// The training schedule as recorded in manifests.
lethe::Json TrainOptionsToJson(const TrainOptions& options);

}  // namespace lethe::train
