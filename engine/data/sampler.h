// Random batches from a Dataset, reproducible from a seed. Training and the few-shot
// learning phase draw from here, so "which retained images were seen" depends only on the
// seed and the data set (which already excludes forgotten items).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "engine/data/dataset.h"

namespace lethe::data {

// A CPU generator seeded with `seed` (the same seed gives the same stream everywhere).
torch::Generator MakeGenerator(uint64_t seed);

// `batch` indices drawn uniformly with replacement from [0, size), int64 [batch].
torch::Tensor RandomIndices(int64_t size, int64_t batch, torch::Generator& generator);

// Epoch-wise shuffling: every item is visited once per pass, in a fresh random order each
// pass (as StyleGAN2-ADA's infinite sampler); batches may span two passes.
class Sampler {
 public:
  Sampler(int64_t size, uint64_t seed);
  torch::Tensor Next(int64_t batch);  // int64 [batch] indices
  int64_t epoch() const { return epoch_; }

 private:
  int64_t size_;
  torch::Generator generator_;
  torch::Tensor order_;
  int64_t pos_ = 0;
  int64_t epoch_ = 0;
};

// The images and labels at `indices`, moved to `device`.
struct Batch {
  torch::Tensor images;  // [B, C, R, R] float32
  torch::Tensor labels;  // [B] int64
};
Batch GetBatch(const Dataset& data, const torch::Tensor& indices, torch::Device device);

}  // namespace lethe::data
