// Turns 8-bit source pixels into the tensors models train on, and builds a Dataset from a
// loader's raw items so every loader applies exclusion, limits and hashing the same way.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace lethe::data {

// [N, H, W, C] uint8 -> [N, C, R, R] float32 in [-1, 1]. Sources no larger than R on both
// sides are centred and padded with -1 (black); larger ones are resized to R x R with
// antialiased bilinear interpolation.
torch::Tensor ToModelImages(const torch::Tensor& nhwc_uint8, int resolution);

// Checks LoadOptions before any file is read.
void ValidateLoadOptions(const LoadOptions& options);

// Picks the items a loader may return: walks source indices 0..count-1 in order, skips
// excluded ids (id_of(i)) and stops at options.limit. Returns the kept source indices.
std::vector<int64_t> SelectItems(int64_t count, const std::function<std::string(int64_t)>& id_of,
                                 const LoadOptions& options);

// Assembles a Dataset from uniformly sized source items: `pixels` is [count, H, W, C] uint8
// (all source items), `labels` [count] int64; keeps `kept`, hashes their pixels.
Dataset BuildDataset(std::string name, const torch::Tensor& pixels, const torch::Tensor& labels,
                     const std::vector<int64_t>& kept, std::vector<std::string> ids,
                     int num_classes, int resolution);

}  // namespace lethe::data
