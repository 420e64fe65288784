#include "engine/unlearn/retained_source.h"

#include <algorithm>

#include "engine/base/error.h"
#include "engine/data/sampler.h"
#include "engine/unlearn/model_util.h"

namespace lethe::unlearn {

RetainedImages::RetainedImages(const data::Dataset& retained,
                               const std::set<std::string>& forbidden, int64_t pool_size,
                               uint64_t seed, torch::Device device)
    : forbidden_(forbidden),
      rng_(data::MakeGenerator(seed)),
      device_(device),
      retained_size_(retained.size()) {
  if (retained.size() == 0) throw Error("few-shot unlearning needs retained images; none given");
  for (const auto& id : retained.ids)
    if (forbidden_.count(id))
      throw Error("retained data set " + retained.name + " contains forgotten item " + id);
  // One random permutation: its head is the training pool, the rest the held sample.
  torch::Tensor perm = torch::randperm(retained.size(), rng_, torch::kLong);
  const int64_t n = retained.size();
  const int64_t pool = pool_size <= 0 ? n : std::min(pool_size, n);
  std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
  pool_ = retained.Subset(std::vector<int64_t>(order.begin(), order.begin() + pool));
  held_ =
      pool < n ? retained.Subset(std::vector<int64_t>(order.begin() + pool, order.end())) : pool_;
  if (!device_.is_cpu()) {
    pool_images_ = pool_.images.to(device_);
    pool_labels_ = pool_.labels.to(device_);
  }
}

RealBatch RetainedImages::Serve(const data::Dataset& from, const torch::Tensor& indices) {
  torch::Tensor idx = indices.to(torch::kCPU, torch::kLong).contiguous();
  RealBatch out;
  if (&from == &pool_ && pool_images_.defined()) {
    // The pool lives on the device: gather there, no blocking copy per step.
    torch::Tensor on_device = ToDevice(idx, device_);
    out.images = pool_images_.index_select(0, on_device);
    out.labels = pool_labels_.index_select(0, on_device);
  } else {
    data::Batch b = data::GetBatch(from, idx, device_);
    out.images = b.images;
    out.labels = b.labels;
  }
  const int64_t* p = idx.data_ptr<int64_t>();
  out.ids.reserve(size_t(idx.numel()));
  for (int64_t i = 0; i < idx.numel(); ++i) {
    const std::string& id = from.ids[size_t(p[i])];
    // Second line of defence: the constructor already refused such a data set.
    if (forbidden_.count(id)) throw Error("refusing to serve forgotten item " + id);
    out.ids.push_back(id);
  }
  return out;
}

RealBatch RetainedImages::Draw(int64_t n) {
  return Serve(pool_, data::RandomIndices(pool_.size(), n, rng_));
}

RealBatch RetainedImages::Held(int64_t n) {
  const int64_t k = std::min(n, held_.size());
  return Serve(held_, torch::arange(k, torch::kLong));
}

std::string RetainedImages::Describe() const {
  return "retained images: pool of " + std::to_string(pool_.size()) + " of " +
         std::to_string(retained_size_);
}

RawGeneratorSamples::RawGeneratorSamples(models::Generator g0, int64_t excluded_class,
                                         uint64_t seed, torch::Device device)
    : g0_(std::move(g0)),
      rng_(data::MakeGenerator(seed)),
      held_seed_(seed ^ 0x9e3779b97f4a7c15ULL),
      device_(device) {
  std::vector<int64_t> classes;
  for (int64_t c = 0; c < g0_->config().num_classes; ++c)
    if (c != excluded_class) classes.push_back(c);
  if (classes.empty()) throw Error("zero-shot source: no class left to generate");
  classes_ = torch::tensor(classes, torch::kLong);
}

RealBatch RawGeneratorSamples::Generate(int64_t n, torch::Generator& rng) {
  torch::NoGradGuard no_grad;
  torch::Tensor z = torch::randn({n, int64_t(g0_->config().z_dim)}, rng);
  torch::Tensor pick = torch::randint(classes_.size(0), {n}, rng, torch::kLong);
  torch::Tensor labels = classes_.index_select(0, pick);
  z = ToDevice(z, device_);
  labels = ToDevice(labels, device_);
  torch::Tensor images = g0_->forward(z, labels, models::NoiseMode::kRandom);
  return RealBatch{images, labels, {}};
}

RealBatch RawGeneratorSamples::Draw(int64_t n) { return Generate(n, rng_); }

RealBatch RawGeneratorSamples::Held(int64_t n) {
  if (!held_.images.defined() || held_.images.size(0) != n) {
    torch::Generator rng = data::MakeGenerator(held_seed_);
    held_ = Generate(n, rng);
  }
  return held_;
}

std::string RawGeneratorSamples::Describe() const {
  return "samples of the raw generator over " + std::to_string(classes_.size(0)) + " classes";
}

}  // namespace lethe::unlearn
