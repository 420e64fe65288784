// Chooses a loader from a data spec (see dataset.h).
#include <string>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/dataset.h"

namespace lethe::data {
namespace {

// "<dir>/<base>" or "<dir>/<base>.gz", whichever exists; "" when neither.
std::string FindMaybeGz(const std::string& dir, const std::string& base) {
  for (const std::string& p : {JoinPath(dir, base), JoinPath(dir, base + ".gz")})
    if (PathExists(p)) return p;
  return "";
}

bool IsIdxDir(const std::string& dir) {
  return !FindMaybeGz(dir, "train-images-idx3-ubyte").empty() ||
         !FindMaybeGz(dir, "t10k-images-idx3-ubyte").empty();
}

bool IsCifarDir(const std::string& dir) {
  return PathExists(JoinPath(dir, "data_batch_1.bin")) ||
         PathExists(JoinPath(dir, "test_batch.bin"));
}

bool IsSplitPngDir(const std::string& dir) {
  return IsDirectory(JoinPath(dir, "train")) && IsDirectory(JoinPath(dir, "test"));
}

std::string ResolveSpec(const std::string& spec) {
  if (spec.empty() || spec == "fashion-mnist") return kFashionMnistDir;
  return spec;
}

}  // namespace

bool HasTestSplit(const std::string& spec) {
  const std::string dir = ResolveSpec(spec);
  if (IsIdxDir(dir)) return !FindMaybeGz(dir, "t10k-images-idx3-ubyte").empty();
  if (IsCifarDir(dir)) return PathExists(JoinPath(dir, "test_batch.bin"));
  return IsSplitPngDir(dir);
}

Dataset LoadDataset(const std::string& spec, Split split, const LoadOptions& options) {
  const std::string dir = ResolveSpec(spec);
  if (!IsDirectory(dir)) throw Error("data set not found: " + dir + " is not a directory");
  const bool train = split == Split::kTrain;
  if (IsIdxDir(dir)) {
    const std::string stem = train ? "train" : "t10k";
    std::string images = FindMaybeGz(dir, stem + "-images-idx3-ubyte");
    std::string labels = FindMaybeGz(dir, stem + "-labels-idx1-ubyte");
    if (images.empty()) throw Error("missing " + stem + "-images-idx3-ubyte[.gz] in " + dir);
    if (labels.empty()) throw Error("missing " + stem + "-labels-idx1-ubyte[.gz] in " + dir);
    Dataset d = LoadIdx(images, labels, train ? "train" : "test", options);
    std::string base = dir == kFashionMnistDir ? "fashion-mnist" : dir;
    d.name = base + (train ? "/train" : "/test");
    return d;
  }
  if (IsCifarDir(dir)) return LoadCifar10(dir, split, options);
  if (IsSplitPngDir(dir)) {
    const std::string sub = train ? "train" : "test";
    Dataset d = LoadPngFolder(JoinPath(dir, sub), options, sub + "/");
    d.name = dir + "/" + sub;
    return d;
  }
  if (!train)
    throw Error("PNG class folder " + dir +
                " has no test split (use a folder with train/ and test/ class folders)");
  return LoadPngFolder(dir, options);
}

}  // namespace lethe::data
