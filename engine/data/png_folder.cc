// A folder of PNGs, one sub-folder per class. Files are decoded defensively (DecodePng
// checks limits before allocating), so a bad file is an error naming it, never a crash.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/data/content_hash.h"
#include "engine/data/dataset.h"
#include "engine/data/image_convert.h"

namespace lethe::data {
namespace {

namespace fs = std::filesystem;

// ".git", ".DS_Store", "._x.png" (macOS metadata) are never data.
bool IsHidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

bool IsPngName(const std::string& name) {
  if (name.size() < 4) return false;
  std::string ext = name.substr(name.size() - 4);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png";
}

// PNG colour type from the IHDR chunk (byte 25); gray = 0 or 4. -1 when unreadable.
int PngColorType(const std::string& data) {
  static const unsigned char kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data.size() < 26 || std::memcmp(data.data(), kSig, 8) != 0) return -1;
  return static_cast<unsigned char>(data[25]);
}

// Class folders in label order: by number when every name is a decimal number ("2" before
// "10"), else by name (byte order).
void SortClassNames(std::vector<std::string>* names) {
  const bool numeric = std::all_of(names->begin(), names->end(), [](const std::string& n) {
    return !n.empty() && n.size() <= 9 &&
           std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c); });
  });
  if (numeric) {
    std::sort(names->begin(), names->end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) != std::stol(b) ? std::stol(a) < std::stol(b) : a < b;
    });
  } else {
    std::sort(names->begin(), names->end());
  }
}

struct Item {
  std::string rel;   // path relative to dir, '/'-separated
  std::string path;  // full path
  int label;
};

}  // namespace

Dataset LoadPngFolder(const std::string& dir, const LoadOptions& options,
                      const std::string& id_prefix) {
  ValidateLoadOptions(options);
  if (!PngSupported()) throw Error("this build has no PNG support; cannot load " + dir);
  if (!IsDirectory(dir)) throw Error("not a directory: " + dir);
  std::vector<std::string> classes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && !IsHidden(e.path().filename().string()))
      classes.push_back(e.path().filename().string());
  if (ec) throw Error("cannot list " + dir + ": " + ec.message());
  SortClassNames(&classes);
  if (classes.empty()) throw Error("no class sub-folders in " + dir);
  const int num_classes = options.num_classes > 0 ? options.num_classes : int(classes.size());
  if (int(classes.size()) > num_classes)
    throw Error(dir + " has " + std::to_string(classes.size()) + " class folders but only " +
                std::to_string(num_classes) + " classes were asked for");

  std::vector<Item> items;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> names;
    const std::string cdir = JoinPath(dir, classes[c]);
    for (const auto& e : fs::directory_iterator(cdir, ec))
      if (e.is_regular_file() && IsPngName(e.path().filename().string()) &&
          !IsHidden(e.path().filename().string()))
        names.push_back(e.path().filename().string());
    if (ec) throw Error("cannot list " + cdir + ": " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) items.push_back({classes[c] + "/" + n, JoinPath(cdir, n), int(c)});
  }
  auto id_of = [&](int64_t i) { return id_prefix + items[size_t(i)].rel; };
  std::vector<int64_t> kept = SelectItems(int64_t(items.size()), id_of, options);

  // Read the kept files; the channel count is decided before decoding so hashes are defined.
  // Greyscale and colour files are not mixed silently: one colour file would turn every
  // image (and so every hash) RGB. Without an explicit channel count, the minority kind is
  // refused, naming its first file.
  std::vector<std::string> bytes(kept.size());
  int64_t gray = 0, colour = 0;
  std::string first_gray, first_colour;
  for (size_t k = 0; k < kept.size(); ++k) {
    const Item& it = items[size_t(kept[k])];
    bytes[k] = ReadFile(it.path);
    int ct = PngColorType(bytes[k]);
    if (ct < 0) throw Error("not a PNG file: " + it.path);
    const bool is_gray = ct == 0 || ct == 4;
    (is_gray ? gray : colour) += 1;
    std::string& first = is_gray ? first_gray : first_colour;
    if (first.empty()) first = it.path;
  }
  if (options.channels <= 0 && gray > 0 && colour > 0) {
    const bool odd_colour = colour <= gray;
    throw Error((odd_colour ? first_colour : first_gray) + " is " +
                (odd_colour ? "a colour" : "a greyscale") + " PNG in a data set of " +
                std::to_string(odd_colour ? gray : colour) + " " +
                (odd_colour ? "greyscale" : "colour") +
                " images: convert it (a folder data set is all greyscale or all colour)");
  }
  const int channels = options.channels > 0 ? options.channels : (colour == 0 ? 1 : 3);

  Dataset d;
  d.name = fs::path(dir).filename().string();
  d.num_classes = num_classes;
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  images.reserve(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) {
    const Item& it = items[size_t(kept[k])];
    Image8 img;
    std::string err;
    if (!DecodePng(bytes[k], channels, PngLimits{}, &img, &err))
      throw Error("bad PNG " + it.path + ": " + err);
    std::string().swap(bytes[k]);
    d.ids.push_back(id_of(kept[k]));
    d.hashes.push_back(ContentHash(img));
    labels.push_back(it.label);
    torch::Tensor px = torch::from_blob(img.pixels.data(), {1, img.height, img.width, img.channels},
                                        torch::kUInt8);
    images.push_back(ToModelImages(px, options.resolution));
  }
  d.labels = torch::tensor(labels, torch::kInt64);
  d.images = images.empty() ? torch::empty({0, channels, options.resolution, options.resolution})
                            : torch::cat(images, 0).contiguous();
  return d;
}

}  // namespace lethe::data
