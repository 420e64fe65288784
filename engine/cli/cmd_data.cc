// Data set commands: the item manifest a model is registered with, and exporting training
// items as PNG files (what a data subject would upload to have them matched and forgotten).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/png.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/data/content_hash.h"
#include "engine/data/dataset.h"

namespace lethe::cli {
namespace {

constexpr const char* kManifestHelp =
    "usage: lethe-engine manifest --out FILE [--data SPEC] [--splits train,test]\n"
    "Writes the item manifest of a data set (docs/dataset-manifest.md): one line per item,\n"
    "\"ID<TAB>SHA256<TAB>LABEL<TAB>SPLIT\", gzip-compressed when FILE ends in .gz. The server\n"
    "loads it when the model is registered, to check requested ids and to match uploaded\n"
    "images by content hash. Without --data, the installed Fashion-MNIST.\n";

constexpr const char* kExportHelp =
    "usage: lethe-engine export-items --out DIR [--data SPEC] [--native-size N]\n"
    "         (--ids ID[,ID...] | --ids-file FILE)\n"
    "Writes the named training items as PNG files DIR/<id with '/' as '_'>.png, at their\n"
    "native size (default 28, Fashion-MNIST's) so that their pixels hash to the manifest's\n"
    "content hash; every file is checked against it. Prints one line per file.\n";

std::vector<std::string> ListFlag(const Flags& flags, const std::string& inline_name,
                                  const std::string& file_name) {
  std::vector<std::string> out;
  auto add = [&](const std::string& text, char sep) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(sep, start);
      if (end == std::string::npos) end = text.size();
      std::string item = text.substr(start, end - start);
      while (!item.empty() && (item.back() == '\r' || item.back() == ' ')) item.pop_back();
      if (!item.empty() && item[0] != '#') out.push_back(item);
      start = end + 1;
    }
  };
  if (flags.Has(inline_name)) add(flags.Get(inline_name), ',');
  if (flags.Has(file_name)) add(ReadFile(flags.Get(file_name)), '\n');
  return out;
}

std::string SafeFileName(const std::string& id) {
  std::string name;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    name += ok ? c : '_';
  }
  return name;
}

}  // namespace

int RunManifest(int argc, char** argv) {
  Flags flags(argc, argv, {"out", "data", "splits"}, {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kManifestHelp, stdout);
    return 0;
  }
  if (!flags.positional().empty())
    throw Error("unexpected argument \"" + flags.positional()[0] + "\"");
  const std::string out = flags.Require("out");
  const std::string spec = flags.Get("data", "fashion-mnist");
  std::vector<std::string> splits = ListFlag(flags, "splits", "");
  if (splits.empty()) splits = {"train", "test"};
  data::LoadOptions options;
  std::string text = "# item manifest of " + spec + ": id, sha256, label, split\n";
  int64_t count = 0;
  for (const std::string& split : splits) {
    if (split != "train" && split != "test")
      throw Error("--splits takes train and/or test, not \"" + split + "\"");
    if (split == "test" && !data::HasTestSplit(spec)) {
      if (flags.Has("splits")) throw Error("data set " + spec + " has no test split");
      continue;
    }
    data::Dataset ds = data::LoadDataset(
        spec, split == "train" ? data::Split::kTrain : data::Split::kTest, options);
    auto labels = ds.labels.accessor<int64_t, 1>();
    for (int64_t i = 0; i < ds.size(); ++i) {
      text += ds.ids[size_t(i)] + '\t' + ds.hashes[size_t(i)] + '\t' + std::to_string(labels[i]) +
              '\t' + split + '\n';
    }
    count += ds.size();
  }
  const bool gz = out.size() > 3 && out.compare(out.size() - 3, 3, ".gz") == 0;
  const std::string parent = std::filesystem::path(out).parent_path().string();
  if (!parent.empty()) MakeDirs(parent);
  WriteFileAtomic(out, gz ? Gzip(text) : text);
  Json summary = Json::Object();
  summary["items"] = count;
  summary["out"] = out;
  std::printf("%s\n", summary.Dump().c_str());
  return 0;
}

int RunExportItems(int argc, char** argv) {
  Flags flags(argc, argv, {"out", "data", "ids", "ids-file", "native-size"}, {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kExportHelp, stdout);
    return 0;
  }
  if (!flags.positional().empty())
    throw Error("unexpected argument \"" + flags.positional()[0] + "\"");
  if (!PngSupported()) throw Error("this build has no PNG support (libpng missing)");
  const std::string out = flags.Require("out");
  const std::vector<std::string> ids = ListFlag(flags, "ids", "ids-file");
  if (ids.empty()) throw Error("give the items to export with --ids or --ids-file");
  const int64_t size = flags.GetInt("native-size", 28);
  if (size < 8 || size > 1024) throw Error("--native-size must be in [8, 1024]");
  data::LoadOptions options;
  options.resolution = int(size);
  data::Dataset ds =
      data::LoadDataset(flags.Get("data", "fashion-mnist"), data::Split::kTrain, options);
  MakeDirs(out);
  // [-1, 1] floats back to the 8-bit source pixels, HWC.
  torch::Tensor pixels =
      ((ds.images.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8).permute({0, 2, 3, 1});
  for (const std::string& id : ids) {
    const int64_t index = ds.IndexOf(id);
    if (index < 0) throw Error("item \"" + id + "\" is not in the training split");
    torch::Tensor item = pixels[index].contiguous();
    Image8 image;
    image.height = int(item.size(0));
    image.width = int(item.size(1));
    image.channels = int(item.size(2));
    image.pixels.assign(item.data_ptr<uint8_t>(), item.data_ptr<uint8_t>() + item.numel());
    if (data::ContentHash(image) != ds.hashes[size_t(index)])
      throw Error("the pixels of \"" + id + "\" at " + std::to_string(size) + "x" +
                  std::to_string(size) +
                  " do not hash to its content hash: pass the data set's native size with "
                  "--native-size");
    const std::string path = JoinPath(out, SafeFileName(id) + ".png");
    WriteFileAtomic(path, EncodePng(image));
    std::printf("%s\t%s\t%s\n", id.c_str(), ds.hashes[size_t(index)].c_str(), path.c_str());
  }
  return 0;
}

}  // namespace lethe::cli
