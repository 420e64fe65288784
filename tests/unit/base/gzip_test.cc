// Gzip round trips, and inflating refuses corrupt, truncated and oversized ("bomb") input.
#include <gtest/gtest.h>

#include <string>

#include "engine/base/error.h"
#include "engine/base/file_util.h"

namespace lethe {
namespace {

TEST(Gzip, RoundTripsArbitraryBytes) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(char((i * 131) % 256));
  EXPECT_EQ(Gunzip(Gzip(data), "test"), data);
  EXPECT_EQ(Gunzip(Gzip(""), "test"), "");
}

TEST(Gzip, CorruptAndTruncatedStreamsThrowNamingTheSource) {
  const std::string z = Gzip(std::string(10000, 'a'));
  std::string corrupt = z;
  corrupt[12] = char(corrupt[12] ^ 0x55);
  try {
    Gunzip(corrupt, "corrupt.gz");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt.gz"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Gunzip(z.substr(0, z.size() / 2), "half.gz"), Error);
}

TEST(Gzip, ABombStopsAtTheLimitWithAClearError) {
  // 64 MiB of zeros compress to about 64 KiB.
  const std::string bomb = Gzip(std::string(64u << 20, '\0'));
  ASSERT_LT(bomb.size(), 1u << 20);
  try {
    Gunzip(bomb, "bomb.gz", 1u << 20);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("bomb.gz"), std::string::npos) << what;
    EXPECT_NE(what.find("inflates to more than 1048576 bytes"), std::string::npos) << what;
  }
  // Exactly at the limit is fine.
  EXPECT_EQ(Gunzip(Gzip(std::string(1000, 'x')), "ok.gz", 1000).size(), 1000u);
}

}  // namespace
}  // namespace lethe
