// Json::Parse is strict RFC 8259 (control characters, UTF-8, surrogates) and every
// Dump() output parses back.
#include <gtest/gtest.h>

#include <string>

#include "engine/base/json.h"

namespace lethe {
namespace {

// The message of the error Parse throws for `text`, or "" if it parses.
std::string ParseError(const std::string& text) {
  try {
    Json::Parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonStrict, RejectsEveryRawControlCharacterInStrings) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = std::string("{\"key\":\"ab") + char(c) + "cd\"}";
    char expected[80];
    std::snprintf(expected, sizeof(expected),
                  "json: raw control character 0x%02x in string at offset 10", c);
    EXPECT_EQ(ParseError(text), expected) << "byte " << c;
  }
  // In a key as well, and the example from the documentation.
  EXPECT_EQ(ParseError("{\"k\ney\":1}"), "json: raw control character 0x0a in string at offset 3");
  EXPECT_EQ(ParseError("{\"name\":\"line one\nline two\"}"),
            "json: raw control character 0x0a in string at offset 17");
  // Outside strings the four JSON whitespace characters stay allowed, others do not.
  EXPECT_EQ(Json::Parse(" \t\r\n[1,\n2]\r\n").size(), 2u);
  EXPECT_NE(ParseError("[1,\x01 2]").find("unexpected byte 0x01 at offset 3"), std::string::npos);
}

TEST(JsonStrict, RejectsInvalidUtf8) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* cause;
  };
  const Case cases[] = {
      {"lone continuation", "\x80", "unexpected continuation byte 0x80"},
      {"truncated 2-byte", "\xC3", "truncated UTF-8 sequence"},
      {"truncated 3-byte", "\xE2\x98", "truncated UTF-8 sequence"},
      {"truncated 4-byte", "\xF0\x9F\x98", "truncated UTF-8 sequence"},
      {"ascii after lead",
       "\xC3"
       "A",
       "is not a continuation byte"},
      {"overlong 2-byte", "\xC0\xAF", "overlong UTF-8 encoding"},
      {"overlong 2-byte C1", "\xC1\xBF", "overlong UTF-8 encoding"},
      {"overlong 3-byte", "\xE0\x80\xAF", "overlong UTF-8 encoding"},
      {"overlong 4-byte", "\xF0\x80\x80\xAF", "overlong UTF-8 encoding"},
      {"surrogate D800", "\xED\xA0\x80", "UTF-8 encoded surrogate"},
      {"surrogate DFFF", "\xED\xBF\xBF", "UTF-8 encoded surrogate"},
      {"above 10FFFF", "\xF4\x90\x80\x80", "above U+10FFFF"},
      {"lead F5", "\xF5\x80\x80\x80", "above U+10FFFF"},
      {"byte FF", "\xFF", "invalid UTF-8 byte 0xff"},
  };
  for (const Case& c : cases) {
    // The bad sequence starts at offset 4 of ["ab<bad>"] ... inside a string value.
    const std::string text = "[\"ab" + c.bytes + "\"]";
    const std::string error = ParseError(text);
    EXPECT_NE(error.find(c.cause), std::string::npos) << c.name << ": " << error;
    EXPECT_NE(error.find("at offset 4"), std::string::npos) << c.name << ": " << error;
    EXPECT_EQ(error.rfind("json: ", 0), 0u) << c.name << ": " << error;
  }
  // Outside strings a non-ASCII byte is no token at all.
  EXPECT_NE(ParseError("[1,\xC3\xA9]").find("unexpected byte 0xc3 at offset 3"), std::string::npos);
}

TEST(JsonStrict, AcceptsValidMultiByteTextAtTheEdges) {
  // U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFD, U+FFFF, U+10000, U+10FFFF.
  const std::string text =
      "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD\xEF\xBF\xBF"
      "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF \xC3\xA9t\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80";
  const Json j = Json::Parse("{\"" + text + "\":\"" + text + "\"}");
  EXPECT_EQ(j.at(text).AsString(), text);
  EXPECT_EQ(Json::Parse(j.Dump()), j);
  EXPECT_EQ(j.Dump(), "{\"" + text + "\":\"" + text + "\"}");
}

TEST(JsonStrict, DecodesSurrogatePairsAndRejectsUnpairedOnes) {
  EXPECT_EQ(Json::Parse(R"("\ud83d\ude00")").AsString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(Json::Parse(R"("\uD800\uDC00")").AsString(), "\xF0\x90\x80\x80");  // U+10000
  EXPECT_EQ(Json::Parse(R"("\uDBFF\uDFFF")").AsString(), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(Json::Parse(R"("\u00e9\u4e2d\u0000")").AsString(),
            std::string("\xC3\xA9\xE4\xB8\xAD\0", 6));
  // The decoded pair is one code point: Dump writes it as UTF-8, which re-parses.
  const Json pair = Json::Parse(R"(["\ud83d\ude00"])");
  EXPECT_EQ(pair.Dump(), "[\"\xF0\x9F\x98\x80\"]");
  EXPECT_EQ(Json::Parse(pair.Dump()), pair);

  EXPECT_EQ(ParseError(R"(["x\ud83d"])"), "json: unpaired high surrogate escape at offset 3");
  EXPECT_EQ(ParseError(R"(["x\ud83dabcdef"])"), "json: unpaired high surrogate escape at offset 3");
  EXPECT_EQ(ParseError(R"(["x\ud83d\u0041"])"),
            "json: high surrogate escape not followed by a low surrogate at offset 3");
  EXPECT_EQ(ParseError(R"(["x\ud83d\ud83d"])"),
            "json: high surrogate escape not followed by a low surrogate at offset 3");
  EXPECT_EQ(ParseError(R"(["x\ude00"])"), "json: unpaired low surrogate escape at offset 3");
  EXPECT_EQ(ParseError(R"(["\ude00\ud83d"])"), "json: unpaired low surrogate escape at offset 2");
  EXPECT_EQ(ParseError(R"(["\u12G4"])"), "json: bad hex digit in \\u escape at offset 6");
  EXPECT_EQ(ParseError(R"(["\x"])"), "json: bad escape at offset 2");
}

TEST(JsonStrict, RejectsLeadingZerosAndOverflowingNumbers) {
  EXPECT_EQ(ParseError("[01]"), "json: number with a leading zero at offset 1");
  EXPECT_EQ(ParseError("[-00.5]"), "json: number with a leading zero at offset 2");
  EXPECT_EQ(ParseError("[1e999]"), "json: number out of range at offset 1");
  EXPECT_EQ(Json::Parse("[0, -0, 0.5, -0.0e1, 10]").size(), 5u);
  EXPECT_EQ(Json::Parse("1e308").AsDouble(), 1e308);
}

TEST(JsonStrict, EveryControlByteRoundTripsThroughDump) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += char(c);
  all += "\x7f \"quote\" \\back\\ /slash \xC3\xA9\xE2\x98\x83\xF0\x9F\x98\x80";
  Json j = Json::Object();
  j[all] = all;
  j["list"] = Json::Array();
  for (int c = 0; c < 0x20; ++c) j["list"].Push(Json(std::string(1, char(c))));
  for (int indent : {-1, 0, 2}) {
    const std::string text = j.Dump(indent);
    // The escaped form holds no raw control byte but the pretty-printer's newlines.
    for (char ch : text) {
      const unsigned char u = static_cast<unsigned char>(ch);
      EXPECT_TRUE(u >= 0x20 || (indent >= 0 && u == '\n')) << "raw byte " << int(u);
    }
    const Json back = Json::Parse(text);
    EXPECT_EQ(back, j) << text;
    EXPECT_EQ(back.at(all).AsString(), all);
    EXPECT_EQ(back.Dump(indent), text);
  }
  EXPECT_EQ(Json(std::string("\n\t\x01\x1f", 4)).Dump(), R"("\n\t\u0001\u001f")");
}

TEST(JsonStrict, DumpReplacesInvalidUtf8SoTheOutputParses) {
  // A string built in memory from foreign bytes: each byte that starts no valid sequence
  // becomes U+FFFD; valid sequences around it stay.
  const Json j(
      std::string("a\xFF"
                  "b\xC3\xA9\xED\xA0\x80"
                  "c\xE2\x98"));
  const std::string text = j.Dump();
  EXPECT_EQ(text,
            "\"a\xEF\xBF\xBD"
            "b\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD\"");
  const Json back = Json::Parse(text);
  EXPECT_EQ(back.Dump(), text);  // canonical form is a fixed point
}

}  // namespace
}  // namespace lethe
