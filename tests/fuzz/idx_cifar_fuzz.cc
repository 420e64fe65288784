// Fuzzes the IDX and CIFAR-10 byte-level checks that every data loader runs before it
// reads a pixel. The input is split in two at a position taken from its first byte (an
// IDX image file and its label file); the whole input is also tried as an IDX file of
// each rank and as a CIFAR-10 batch, and, as ReadMaybeGzip does for files that start with
// the gzip magic, inflated first. A success must describe a buffer the loader can read
// entirely in bounds; a failure must be a lethe::Error naming the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/cifar_format.h"
#include "engine/data/idx_format.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

template <typename F>
void ExpectCleanFailure(F&& f, const char* path) {
  try {
    f();
  } catch (const lethe::Error& e) {
    Check(std::string_view(e.what()).find(path) != std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  for (int rank = 1; rank <= 3; ++rank) {
    ExpectCleanFailure(
        [&] {
          lethe::data::IdxView v = lethe::data::ParseIdx(all, rank, "whole.idx");
          Check(v.data_offset + v.data_size == size);
          uint64_t product = 1;
          for (int64_t d : v.dims) product *= uint64_t(d);
          Check(product == v.data_size);
        },
        "whole.idx");
  }
  ExpectCleanFailure(
      [&] {
        lethe::data::CifarBatchView v = lethe::data::ParseCifarBatch(all, 10, "batch.bin");
        Check(v.count >= 1 && size_t(v.count) * lethe::data::kCifarRecordBytes == size);
        for (int64_t i = 0; i < v.count; ++i)
          Check(data[size_t(i * lethe::data::kCifarRecordBytes)] < 10);
      },
      "batch.bin");
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    ExpectCleanFailure(
        [&] {
          const std::string inflated = lethe::Gunzip(std::string(all), "data.gz");
          for (int rank = 1; rank <= 3; ++rank) {
            ExpectCleanFailure([&] { lethe::data::ParseIdx(inflated, rank, "data.gz"); },
                               "data.gz");
          }
          // What inflates must deflate and inflate back to the same bytes.
          Check(lethe::Gunzip(lethe::Gzip(inflated), "again.gz") == inflated);
        },
        "data.gz");
  }
  if (size < 1) return 0;
  // Split: images = bytes [1, 1 + cut), labels = the rest; cut scales with the input.
  const size_t body = size - 1;
  const size_t cut = body * data[0] / 255;
  const std::string_view images = all.substr(1, cut);
  const std::string_view labels = all.substr(1 + cut);
  ExpectCleanFailure(
      [&] {
        lethe::data::IdxPairView v =
            lethe::data::ParseIdxPair(images, labels, 10, "images.idx", "labels.idx");
        Check(v.rows >= 1 && v.cols >= 1);
        Check(v.image_offset + size_t(v.count * v.rows * v.cols) == images.size());
        Check(v.label_offset + size_t(v.count) == labels.size());
        // Read every byte the loader would read (ASan checks the bounds).
        unsigned sum = 0;
        for (size_t i = v.image_offset; i < images.size(); ++i) sum += uint8_t(images[i]);
        for (int64_t i = 0; i < v.count; ++i) Check(uint8_t(labels[v.label_offset + i]) < 10);
        (void)sum;
      },
      "s.idx");  // both names end in "s.idx"
  return 0;
}
