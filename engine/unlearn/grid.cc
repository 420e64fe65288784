#include "engine/unlearn/grid.h"

#include <algorithm>

#include "engine/base/error.h"

namespace lethe::unlearn {

Image8 ImageGrid(const std::vector<torch::Tensor>& rows, int pad) {
  if (rows.empty()) throw Error("image grid: no rows");
  const int64_t c = rows[0].size(1), r = rows[0].size(2);
  int64_t cols = 0;
  for (const auto& row : rows) {
    if (row.dim() != 4 || row.size(1) != c || row.size(2) != r || row.size(3) != r)
      throw Error("image grid: rows differ in channels or resolution");
    cols = std::max(cols, row.size(0));
  }
  if (cols == 0) throw Error("image grid: every row is empty");
  Image8 img;
  img.channels = int(c);
  img.width = int(cols * r + (cols + 1) * pad);
  img.height = int(int64_t(rows.size()) * r + int64_t(rows.size() + 1) * pad);
  img.pixels.assign(size_t(img.width) * img.height * c, 128);
  for (size_t i = 0; i < rows.size(); ++i) {
    torch::Tensor px = ((rows[i].detach().to(torch::kCPU, torch::kFloat).clamp(-1, 1) + 1) * 127.5)
                           .round()
                           .to(torch::kUInt8)
                           .permute({0, 2, 3, 1})
                           .contiguous();  // [n, R, R, C]
    const uint8_t* p = px.data_ptr<uint8_t>();
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t x0 = pad + j * (r + pad), y0 = pad + int64_t(i) * (r + pad);
      for (int64_t y = 0; y < r; ++y)
        for (int64_t x = 0; x < r; ++x)
          for (int64_t k = 0; k < c; ++k) {
            const uint8_t v = j < px.size(0) ? p[((j * r + y) * r + x) * c + k] : 0;
            img.pixels[size_t(((y0 + y) * img.width + (x0 + x)) * c + k)] = v;
          }
    }
  }
  return img;
}

}  // namespace lethe::unlearn
