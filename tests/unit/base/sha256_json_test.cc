#include <gtest/gtest.h>

#include "engine/base/json.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingMatchesOneShot) {
  std::string data(1000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char(i * 7);
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 13) h.Update(data.substr(i, 13));
  EXPECT_EQ(h.FinishHex(), Sha256Hex(data));
}

TEST(Json, RoundTripAndCanonicalOrder) {
  Json j = Json::Object();
  j["zeta"] = 0.1;
  j["alpha"] = Json::ArrayOf(std::vector<int>{1, 2, 3});
  j["name"] = "snow \"man\" \xE2\x98\x83";
  j["big"] = int64_t(1) << 53;
  EXPECT_EQ(j.Dump(),
            R"({"alpha":[1,2,3],"big":9007199254740992,"name":"snow \"man\" ☃","zeta":0.1})");
  EXPECT_EQ(Json::Parse(j.Dump()), j);
  EXPECT_EQ(Json::Parse(j.Dump(2)), j);
}

TEST(Json, ParsesEscapesAndRejectsGarbage) {
  Json j = Json::Parse(R"({"a":"\u00e9\ud83d\ude00","b":[true,false,null],"c":-1.5e3})");
  EXPECT_EQ(j.at("a").AsString(), "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(j.at("c").AsDouble(), -1500.0);
  EXPECT_THROW(Json::Parse("{\"a\":}"), Error);
  EXPECT_THROW(Json::Parse("[1,2"), Error);
  EXPECT_THROW(Json::Parse("{} x"), Error);
  EXPECT_THROW(Json::Parse(std::string(1000, '[')), Error);
  EXPECT_THROW(j.at("missing"), Error);
  EXPECT_THROW(j.at("a").AsInt(), Error);
}

}  // namespace
}  // namespace lethe
