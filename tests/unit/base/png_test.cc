#include "engine/base/png.h"

#include <gtest/gtest.h>

namespace lethe {
namespace {

TEST(Png, GrayRoundTripIsExact) {
  Image8 img;
  img.width = 28;
  img.height = 28;
  img.channels = 1;
  img.pixels.resize(28 * 28);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 31);
  std::string png = EncodePng(img);
  Image8 back;
  std::string err;
  ASSERT_TRUE(DecodePng(png, 1, PngLimits{}, &back, &err)) << err;
  EXPECT_EQ(back.width, 28);
  EXPECT_EQ(back.height, 28);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(Png, RejectsCorruptTruncatedAndHuge) {
  Image8 img{8, 8, 3, std::vector<uint8_t>(8 * 8 * 3, 200)};
  std::string png = EncodePng(img);
  Image8 out;
  std::string err;
  EXPECT_FALSE(DecodePng("not a png at all", 1, PngLimits{}, &out, &err));
  EXPECT_NE(err.find("signature"), std::string::npos);
  EXPECT_FALSE(DecodePng(png.substr(0, png.size() / 2), 1, PngLimits{}, &out, &err));
  EXPECT_NE(err.find("corrupt"), std::string::npos);
  PngLimits tight;
  tight.max_width = 4;
  EXPECT_FALSE(DecodePng(png, 1, tight, &out, &err));
  std::string flipped = png;
  flipped[40] ^= 0x55;  // inside IDAT: CRC or inflate error
  EXPECT_FALSE(DecodePng(flipped, 1, PngLimits{}, &out, &err));
}

}  // namespace
}  // namespace lethe
