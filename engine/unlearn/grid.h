// A picture of what unlearning did: rows of images (e.g. originals, reconstructions
// before, the same codes after) tiled into one 8-bit image for a PNG.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "engine/base/png.h"

namespace lethe::unlearn {

// Each row is [n, C, R, R] in [-1, 1] (values clamped); rows may differ in length (short
// rows are padded with black); `pad` pixels of mid-gray separate the tiles. Throws
// lethe::Error when the rows disagree in channels or resolution, or there are none.
Image8 ImageGrid(const std::vector<torch::Tensor>& rows, int pad = 2);

}  // namespace lethe::unlearn
