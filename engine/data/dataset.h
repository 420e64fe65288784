// A labelled image data set held in memory, with the identity Lethe needs to honour
// deletion requests: every item has a stable id and a content hash, and a set of ids can
// be excluded at load time so forgotten items are never returned by any path.
//
// Content hash (what the server recomputes from an uploaded image to find the item):
//   SHA-256, lower-case hex, of the item's 8-bit source pixels at their native size,
//   row-major, channels interleaved (H x W x C bytes, no header), where C is the data
//   set's channel count (1 = gray, 3 = RGB). For IDX this is exactly the 28x28 bytes as
//   stored; for CIFAR-10 the stored planes R, G, B are interleaved to RGBRGB...; for PNG it
//   is DecodePng(file, C) pixels. An upload therefore matches when its PNG decodes to the
//   same pixels; see content_hash.h (torch-free) for the function both sides use.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace lethe::data {

struct Dataset {
  std::string name;                 // e.g. "fashion-mnist/train"
  torch::Tensor images;             // [N, C, R, R] float32 in [-1, 1], CPU, contiguous
  torch::Tensor labels;             // [N] int64 in [0, num_classes)
  std::vector<std::string> ids;     // stable item ids: "train/123", "test/7", "shirt/a.png"
  std::vector<std::string> hashes;  // SHA-256 hex of the item's raw source pixels (above)
  int num_classes = 0;

  int64_t size() const { return int64_t(ids.size()); }
  int channels() const { return int(images.size(1)); }
  int resolution() const { return int(images.size(2)); }
  // SHA-256 over every (id, hash, label) in order: identifies exactly what was trained on.
  std::string Fingerprint() const;
  // Items at `indices`, in that order (throws on an index out of range).
  Dataset Subset(const std::vector<int64_t>& indices) const;
  // Every item except those whose id is in `ids`; order kept.
  Dataset Without(const std::set<std::string>& ids) const;
  std::vector<int64_t> IndicesOfClass(int64_t label) const;
  int64_t IndexOf(const std::string& id) const;  // -1 when absent
  // Number of items of each class, [num_classes].
  std::vector<int64_t> ClassCounts() const;
};

enum class Split { kTrain, kTest };

struct LoadOptions {
  int resolution = 32;            // output side; smaller sources are centred and padded with -1,
                                  // larger ones resized (bilinear, antialiased)
  std::set<std::string> exclude;  // item ids that must never be returned (forgotten items)
  int64_t limit = -1;             // keep the first N items (after exclusion); -1 = all
  int64_t head = -1;              // only the source's first N items are the data set (before
                                  // exclusion: a fixed subset, e.g. a model's training subset)
  int num_classes = 0;            // 0 = the format's own (10 for IDX and CIFAR-10, the number
                                  // of sub-folders for PNG); labels outside are an error
  int channels = 0;               // PNG only: 0 = 1 if every file is grey, 3 if every file
                                  // is colour (a mix is refused); 1 or 3 converts
};

// Where Debian's dataset-fashion-mnist installs the real data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// IDX image + label files (MNIST / Fashion-MNIST), gzip or raw. Ids are
// "<id_prefix>/<index>" with the index in the source file (stable under exclusion).
Dataset LoadIdx(const std::string& images_path, const std::string& labels_path,
                const std::string& id_prefix, const LoadOptions& options);
// CIFAR-10 binary batches (data_batch_1..5.bin / test_batch.bin) in `dir`. Ids are
// "train/<i>" (i counts across the five batches in order) or "test/<i>".
Dataset LoadCifar10(const std::string& dir, Split split, const LoadOptions& options);
// A folder with one sub-folder per class (sorted names = labels 0..K-1) of PNG files;
// ids are `id_prefix` + the files' paths relative to `dir` ("shirt/a.png"). Names starting
// with '.' are skipped.
Dataset LoadPngFolder(const std::string& dir, const LoadOptions& options,
                      const std::string& id_prefix = "");
// Chooses a loader from a spec: "" or "fashion-mnist" = the installed Fashion-MNIST; a
// directory with {train,t10k}-images-idx3-ubyte[.gz] = IDX; one with data_batch_1.bin =
// CIFAR-10; one with train/ and test/ class folders = PNG with both splits (ids
// "train/<class>/<file>"); otherwise a PNG class folder, which has no test split (asking
// for it is an error).
Dataset LoadDataset(const std::string& spec, Split split, const LoadOptions& options);
// True when LoadDataset(spec, kTest, ...) would find a test split.
bool HasTestSplit(const std::string& spec);

}  // namespace lethe::data
