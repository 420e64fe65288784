// The shape of a conditional StyleGAN2-style generator/discriminator pair. One struct
// describes both networks so a checkpoint's manifest alone is enough to rebuild them.
#pragma once

#include <string>

#include "engine/base/json.h"

namespace lethe::models {

struct ModelConfig {
  std::string preset = "small";  // tiny | small | paper | custom
  int resolution = 32;           // output side, a power of two >= 8
  int img_channels = 1;          // 1 = gray, 3 = RGB
  int num_classes = 10;
  int z_dim = 64;
  int w_dim = 64;
  int embed_dim = 64;  // class embedding width fed to the mapping network
  int mapping_layers = 2;
  // Feature maps at resolution r: min(channel_base / r, channel_max), as in StyleGAN2.
  int channel_base = 2048;
  int channel_max = 128;
  int mbstd_group = 4;            // minibatch-stddev group size (clamped to a divisor of N)
  double mapping_lr_mult = 0.01;  // equalised-lr multiplier of the mapping network

  int ChannelsAt(int res) const;
  // Number of synthesis blocks (4x4, 8x8, ..., resolution).
  int NumBlocks() const;

  lethe::Json ToJson() const;
  // Throws lethe::Error naming the missing/invalid member.
  static ModelConfig FromJson(const lethe::Json& json);
  // tiny: unit tests (seconds on 2 CPU cores); small: the CPU default for 32x32 data;
  // paper: StyleGAN2's 32x32 widths (CIFAR configuration), meant for a GPU.
  static ModelConfig Preset(const std::string& name, int resolution, int img_channels,
                            int num_classes);
  // Throws lethe::Error with the first invalid field.
  void Validate() const;
};

}  // namespace lethe::models
