#include "engine/data/dataset.h"

#include <algorithm>
#include <string>

#include "engine/base/error.h"
#include "engine/base/sha256.h"

namespace lethe::data {

std::string Dataset::Fingerprint() const {
  if (int64_t(hashes.size()) != size() || (labels.defined() && labels.numel() != size()))
    throw Error("data set " + name + " is inconsistent: ids, hashes and labels differ in length");
  Sha256 h;
  h.Update("lethe-dataset-v1\n");
  torch::Tensor l = labels.defined() ? labels.to(torch::kInt64).contiguous() : torch::Tensor();
  const int64_t* lp = l.defined() ? l.data_ptr<int64_t>() : nullptr;
  for (int64_t i = 0; i < size(); ++i) {
    // Each record is "id \0 hash \0 label \n"; ids cannot contain NUL, so records never blur.
    h.Update(ids[size_t(i)]);
    h.Update(std::string_view("\0", 1));
    h.Update(hashes[size_t(i)]);
    h.Update(std::string_view("\0", 1));
    h.Update(std::to_string(lp ? lp[i] : -1));
    h.Update("\n");
  }
  return h.FinishHex();
}

Dataset Dataset::Subset(const std::vector<int64_t>& indices) const {
  Dataset out;
  out.name = name;
  out.num_classes = num_classes;
  out.ids.reserve(indices.size());
  out.hashes.reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= size())
      throw Error("index " + std::to_string(i) + " out of range for data set " + name + " of " +
                  std::to_string(size()) + " items");
    out.ids.push_back(ids[size_t(i)]);
    out.hashes.push_back(hashes[size_t(i)]);
  }
  torch::Tensor idx =
      torch::tensor(std::vector<int64_t>(indices.begin(), indices.end()), torch::kInt64);
  if (images.defined()) {
    if (indices.empty()) {
      std::vector<int64_t> shape = images.sizes().vec();
      shape[0] = 0;
      out.images = torch::empty(shape, images.options());
    } else {
      out.images = images.index_select(0, idx.to(images.device())).contiguous();
    }
  }
  if (labels.defined()) {
    out.labels = indices.empty() ? torch::empty({0}, labels.options())
                                 : labels.index_select(0, idx.to(labels.device())).contiguous();
  }
  return out;
}

Dataset Dataset::Without(const std::set<std::string>& drop) const {
  std::vector<int64_t> keep;
  keep.reserve(ids.size());
  for (int64_t i = 0; i < size(); ++i)
    if (!drop.count(ids[size_t(i)])) keep.push_back(i);
  return Subset(keep);
}

std::vector<int64_t> Dataset::IndicesOfClass(int64_t label) const {
  std::vector<int64_t> out;
  if (!labels.defined()) return out;
  torch::Tensor l = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (p[i] == label) out.push_back(i);
  return out;
}

int64_t Dataset::IndexOf(const std::string& id) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == id) return int64_t(i);
  return -1;
}

std::vector<int64_t> Dataset::ClassCounts() const {
  std::vector<int64_t> counts(size_t(std::max(num_classes, 0)), 0);
  if (!labels.defined()) return counts;
  torch::Tensor l = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (p[i] >= 0 && p[i] < num_classes) ++counts[size_t(p[i])];
  return counts;
}

}  // namespace lethe::data
