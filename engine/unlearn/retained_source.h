// Where the learning phase's "real" images come from. Few-shot reads a random sample of
// retained images; zero-shot reads none. The distinction is structural: the zero-shot
// implementation is built from the frozen raw generator alone and holds no data set, and
// the zero-shot cascade constructs it itself (it is never handed the caller's source).
//
// Both serve two kinds of draws:
//   Draw(n)  fresh images for one learning-phase step;
//   Held(n)  a fixed reference sample (the same images every call), the x_l side of the
//            destination's AUC_u = P(D(x_l) > D(x_u)). Few-shot holds images disjoint from
//            the training pool where the data set allows, so the check is not flattered by
//            D having just been fine-tuned on exactly those images.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/models/generator.h"

namespace lethe::unlearn {

struct RealBatch {
  torch::Tensor images;          // [n, C, R, R] on the source's device
  torch::Tensor labels;          // [n] int64
  std::vector<std::string> ids;  // item ids served (empty for generated images)
};

class RetainedSource {
 public:
  virtual ~RetainedSource() = default;
  virtual RealBatch Draw(int64_t n) = 0;
  virtual RealBatch Held(int64_t n) = 0;
  // True when the source serves real retained images (few-shot).
  virtual bool reads_retained_images() const = 0;
  virtual std::string Describe() const = 0;
};

// How many retained images the few-shot learning phase draws its batches from, unless told
// otherwise: at least this many, and never fewer than |D_u|. The paper's few-shot pool is
// |D_u| itself; on Fashion-MNIST a pool of 64 lets D's idea of "real" shrink to those
// images, so held retained images sink with the forgotten ones (AUC_u stalls near 0.6) and
// G overfits them (FD_l ×4), while 8,192 reaches AUC_u 0.8 with FD_l within 1 % at the
// same cost per iteration (docs/results.md). Each step still reads a |D_u|-sized batch.
inline constexpr int64_t kDefaultRetainedPool = 8192;
inline int64_t DefaultRetainedPool(int64_t forget_count) {
  return forget_count > kDefaultRetainedPool ? forget_count : kDefaultRetainedPool;
}

// Few-shot: a random pool of retained images.
class RetainedImages : public RetainedSource {
 public:
  // `retained` must not contain any id in `forbidden` (the forget set and every
  // tombstoned item); a violation throws lethe::Error naming the id. pool_size <= 0 or
  // larger than the set: every retained image may be drawn.
  RetainedImages(const data::Dataset& retained, const std::set<std::string>& forbidden,
                 int64_t pool_size, uint64_t seed, torch::Device device);
  RealBatch Draw(int64_t n) override;
  RealBatch Held(int64_t n) override;
  bool reads_retained_images() const override { return true; }
  std::string Describe() const override;
  int64_t pool_size() const { return pool_.size(); }

 private:
  RealBatch Serve(const data::Dataset& from, const torch::Tensor& indices);

  data::Dataset pool_;                       // what Draw may serve
  data::Dataset held_;                       // what Held may serve
  torch::Tensor pool_images_, pool_labels_;  // the pool on an accelerator (undefined on CPU)
  std::set<std::string> forbidden_;
  torch::Generator rng_;
  torch::Device device_;
  int64_t retained_size_;
};

// Zero-shot: images of the frozen raw generator G0(z, c), labels uniform over every class
// but `excluded_class` (-1: none). Holds no data set.
class RawGeneratorSamples : public RetainedSource {
 public:
  RawGeneratorSamples(models::Generator g0, int64_t excluded_class, uint64_t seed,
                      torch::Device device);
  RealBatch Draw(int64_t n) override;
  RealBatch Held(int64_t n) override;
  bool reads_retained_images() const override { return false; }
  std::string Describe() const override;

 private:
  RealBatch Generate(int64_t n, torch::Generator& rng);

  models::Generator g0_;
  torch::Tensor classes_;  // the labels it draws from
  torch::Generator rng_;
  uint64_t held_seed_;
  torch::Device device_;
  RealBatch held_;
};

}  // namespace lethe::unlearn
