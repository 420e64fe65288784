#include "engine/data/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/base/error.h"

namespace lethe::data {

torch::Generator MakeGenerator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

torch::Tensor RandomIndices(int64_t size, int64_t batch, torch::Generator& generator) {
  if (size <= 0) throw Error("cannot sample from an empty data set");
  if (batch < 0) throw Error("batch size must be >= 0");
  return torch::randint(size, {batch}, generator, torch::kInt64);
}

Sampler::Sampler(int64_t size, uint64_t seed) : size_(size), generator_(MakeGenerator(seed)) {
  if (size <= 0) throw Error("cannot sample from an empty data set");
}

torch::Tensor Sampler::Next(int64_t batch) {
  if (batch <= 0) throw Error("batch size must be > 0");
  std::vector<torch::Tensor> parts;
  int64_t need = batch;
  while (need > 0) {
    if (!order_.defined() || pos_ >= size_) {
      if (order_.defined()) ++epoch_;
      order_ = torch::randperm(size_, generator_, torch::kInt64);
      pos_ = 0;
    }
    const int64_t take = std::min(need, size_ - pos_);
    parts.push_back(order_.narrow(0, pos_, take));
    pos_ += take;
    need -= take;
  }
  return parts.size() == 1 ? parts[0].clone() : torch::cat(parts, 0);
}

Batch GetBatch(const Dataset& data, const torch::Tensor& indices, torch::Device device) {
  torch::Tensor idx = indices.to(torch::kCPU, torch::kInt64);
  if (idx.numel() > 0 &&
      (idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= data.size()))
    throw Error("batch index out of range for data set " + data.name);
  return {data.images.index_select(0, idx).to(device), data.labels.index_select(0, idx).to(device)};
}

}  // namespace lethe::data
