// The domain classifier: a small CNN trained on the real data. It supplies the feature
// space for FD (metrics/fd.h), the downstream accuracy metric, and the feature distance
// phi of the unlearning loss. Offline, it stands in for the ImageNet networks (Inception,
// VGG) that the literature uses and that Lethe cannot download.
//
// An evaluator directory holds weights.pt and manifest.json (architecture, sha256 of every
// file, the training data set's fingerprint, test accuracy). Loading verifies the hashes,
// so a tampered or truncated weights file is refused with an error naming it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "engine/base/cancel.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"

namespace lethe::metrics {

struct EvaluatorConfig {
  int resolution = 32;  // input side (power of two, 8..256)
  int channels = 1;
  int num_classes = 10;
  int width = 16;         // channels of the first conv block; doubled per block, max 4x
  int feature_dim = 128;  // penultimate layer = the feature space of FD and phi

  Json ToJson() const;
  static EvaluatorConfig FromJson(const Json& json);  // throws naming the bad member
  void Validate() const;
};

// conv-bn-relu blocks with 2x max pooling down to 4x4, one more conv-bn-relu, a linear
// feature layer (ReLU) on the flattened map, then dropout and a linear classifier.
class EvaluatorNetImpl : public torch::nn::Module {
 public:
  explicit EvaluatorNetImpl(const EvaluatorConfig& config);
  torch::Tensor Features(const torch::Tensor& x);         // [N, feature_dim]
  torch::Tensor Classify(const torch::Tensor& features);  // [N, num_classes]
  torch::Tensor forward(const torch::Tensor& x) { return Classify(Features(x)); }

 private:
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Linear feature_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(EvaluatorNet);

class Evaluator {
 public:
  // A fresh (untrained, frozen) evaluator on `device`; training uses MutableNet().
  Evaluator(const EvaluatorConfig& config, torch::Device device);

  // Verifies every file against manifest.json; throws lethe::Error naming the file.
  static Evaluator Load(const std::string& dir, torch::Device device);
  // Writes weights.pt and manifest.json atomically (each file), creating `dir`.
  void Save(const std::string& dir) const;

  // All three take [N, C, R, R] images in [-1, 1] on any device and run in eval mode.
  // Features and Logits: batched, no gradient, result on the evaluator's device.
  torch::Tensor Features(const torch::Tensor& images, int64_t batch = 512) const;
  torch::Tensor Logits(const torch::Tensor& images, int64_t batch = 512) const;
  // Both in one pass: {features [N, F], logits [N, K]}.
  std::pair<torch::Tensor, torch::Tensor> FeaturesAndLogits(const torch::Tensor& images,
                                                            int64_t batch = 512) const;
  // Differentiable with respect to `images` (the weights stay frozen): the feature
  // distance term of unlearning.
  torch::Tensor FeaturesWithGrad(const torch::Tensor& images) const;
  // Fraction of `images` classified as `labels`.
  double Accuracy(const torch::Tensor& images, const torch::Tensor& labels) const;

  const EvaluatorConfig& config() const { return config_; }
  int num_classes() const { return config_.num_classes; }
  int feature_dim() const { return config_.feature_dim; }
  torch::Device device() const { return device_; }
  // Provenance kept in the manifest: "dataset", "dataset_fingerprint", "test_accuracy"...
  const Json& info() const { return info_; }
  Json& mutable_info() { return info_; }
  // The network, for training. Parameters are frozen (requires_grad false) outside it.
  EvaluatorNet MutableNet() { return net_; }
  void Freeze();

 private:
  void CheckInput(const torch::Tensor& images) const;
  // Running the network changes no state Evaluator exposes, so const methods may run it.
  EvaluatorNetImpl& Net() const { return *net_.ptr(); }

  EvaluatorConfig config_;
  torch::Device device_;
  EvaluatorNet net_{nullptr};
  Json info_ = Json::Object();
};

struct EvaluatorOptions {
  int64_t iterations = 2000;
  int64_t batch = 128;
  double learning_rate = 2e-3;  // Adam, cosine-decayed to 0
  double weight_decay = 1e-4;
  uint64_t seed = 0;
  bool augment = true;  // random shifts of up to 2 pixels
  bool hflip = false;   // random horizontal flips (not for digits)
  int width = 16;
  int feature_dim = 128;
  torch::Device device = torch::kCPU;
  // Called every `log_every` iterations and at the end: (iteration, mean loss, train acc).
  std::function<void(int64_t, double, double)> on_progress;
  int64_t log_every = 100;
  const CancelToken* cancel = nullptr;
};

// Trains on `train`, reports accuracy on `test` in info()["test_accuracy"]. Throws
// lethe::Error on empty or mismatched data sets, or when cancelled.
Evaluator TrainEvaluator(const data::Dataset& train, const data::Dataset& test,
                         const EvaluatorOptions& options);

}  // namespace lethe::metrics
