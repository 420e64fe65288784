#include "engine/models/config.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "engine/base/error.h"

namespace lethe::models {
namespace {

bool IsPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

int ModelConfig::ChannelsAt(int res) const {
  return std::max(1, std::min(channel_base / res, channel_max));
}

int ModelConfig::NumBlocks() const {
  int n = 0;
  for (int r = 4; r <= resolution; r *= 2) ++n;
  return n;
}

lethe::Json ModelConfig::ToJson() const {
  lethe::Json j = lethe::Json::Object();
  j["preset"] = preset;
  j["resolution"] = resolution;
  j["img_channels"] = img_channels;
  j["num_classes"] = num_classes;
  j["z_dim"] = z_dim;
  j["w_dim"] = w_dim;
  j["embed_dim"] = embed_dim;
  j["mapping_layers"] = mapping_layers;
  j["channel_base"] = channel_base;
  j["channel_max"] = channel_max;
  j["mbstd_group"] = mbstd_group;
  j["mapping_lr_mult"] = mapping_lr_mult;
  return j;
}

ModelConfig ModelConfig::FromJson(const lethe::Json& j) {
  if (!j.is_object()) throw Error("model config: expected a JSON object");
  auto get_int = [&](const char* key) {
    int64_t value = 0;
    try {
      value = j.at(key).AsInt();
    } catch (const Error& e) {
      throw Error(std::string("model config: ") + key + ": " + e.what());
    }
    // Out-of-int values must not wrap into a plausible one.
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      throw Error(std::string("model config: ") + key + ": " + std::to_string(value) +
                  " is out of range");
    return int(value);
  };
  ModelConfig c;
  c.preset = j.GetString("preset", "custom");
  c.resolution = get_int("resolution");
  c.img_channels = get_int("img_channels");
  c.num_classes = get_int("num_classes");
  c.z_dim = get_int("z_dim");
  c.w_dim = get_int("w_dim");
  c.embed_dim = get_int("embed_dim");
  c.mapping_layers = get_int("mapping_layers");
  c.channel_base = get_int("channel_base");
  c.channel_max = get_int("channel_max");
  c.mbstd_group = get_int("mbstd_group");
  c.mapping_lr_mult = j.GetDouble("mapping_lr_mult", 0.01);
  c.Validate();
  return c;
}

ModelConfig ModelConfig::Preset(const std::string& name, int resolution, int img_channels,
                                int num_classes) {
  ModelConfig c;
  c.preset = name;
  c.resolution = resolution;
  c.img_channels = img_channels;
  c.num_classes = num_classes;
  if (name == "tiny") {
    // 4:32 8:32 16:16 32:8 channels; a few hundred steps take seconds on a laptop core.
    c.z_dim = c.w_dim = c.embed_dim = 32;
    c.mapping_layers = 2;
    c.channel_base = 256;
    c.channel_max = 32;
    c.mbstd_group = 4;
  } else if (name == "small") {
    // 4:128 8:128 16:64 32:32 channels: Fashion-MNIST-sized data on two CPU cores.
    c.z_dim = c.w_dim = c.embed_dim = 64;
    c.mapping_layers = 2;
    c.channel_base = 1024;
    c.channel_max = 128;
    c.mbstd_group = 4;
  } else if (name == "paper") {
    // StyleGAN2-ADA's CIFAR-10 configuration: 512 maps at every resolution up to 32x32.
    c.z_dim = c.w_dim = c.embed_dim = 512;
    c.mapping_layers = 2;
    c.channel_base = 32768;
    c.channel_max = 512;
    c.mbstd_group = 32;
  } else {
    throw Error("unknown model preset \"" + name + "\" (expected tiny, small or paper)");
  }
  c.Validate();
  return c;
}

void ModelConfig::Validate() const {
  auto fail = [](const std::string& what) { throw Error("invalid model config: " + what); };
  if (resolution < 8 || resolution > 1024 || !IsPowerOfTwo(resolution))
    fail("resolution " + std::to_string(resolution) + " is not a power of two in [8, 1024]");
  if (img_channels != 1 && img_channels != 3)
    fail("img_channels must be 1 or 3, got " + std::to_string(img_channels));
  if (num_classes < 1 || num_classes > 100000)
    fail("num_classes must be in [1, 100000], got " + std::to_string(num_classes));
  if (z_dim < 1 || w_dim < 1 || embed_dim < 1 || z_dim > 4096 || w_dim > 4096 || embed_dim > 4096)
    fail("z_dim, w_dim and embed_dim must be in [1, 4096]");
  if (mapping_layers < 1 || mapping_layers > 16) fail("mapping_layers must be in [1, 16]");
  if (channel_base < 1 || channel_max < 1 || channel_max > 4096)
    fail("channel_base and channel_max must be positive (channel_max <= 4096)");
  if (mbstd_group < 1) fail("mbstd_group must be >= 1");
  if (!(mapping_lr_mult > 0 && mapping_lr_mult <= 1)) fail("mapping_lr_mult must be in (0, 1]");
}

}  // namespace lethe::models
