#include "common/validation.h"

#include <gtest/gtest.h>

#include "common/errors.h"

namespace lethe {
namespace {

TEST(Utf8Test, AcceptsValidAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(
      IsValidUtf8("gr\xc3\xbc\xc3\x9f"
                  "e \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(UuidTest, FormatAndGeneration) {
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid("123E4567-E89B-12D3-A456-426614174000"));
  EXPECT_FALSE(IsUuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_TRUE(IsUuid(a));
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');  // version 4
  EXPECT_EQ(LowercaseUuid("ABCDEF00-0000-4000-8000-000000000000"),
            "abcdef00-0000-4000-8000-000000000000");
}

TEST(ItemIdTest, RulesTable) {
  struct Case {
    std::string id;
    bool ok;
    const char* message;
  };
  const Case cases[] = {
      {"train/123", true, ""},
      {"shirt/a.png", true, ""},
      {"caf\xc3\xa9/1.png", true, ""},
      {"", false, "is empty"},
      {"/abs", false, "must be relative"},
      {"dir/", false, "ends with"},
      {"a//b", false, "empty path segment"},
      {"a/../b", false, "\"..\" segment"},
      {"./a", false, "\"..\" segment"},
      {"a\\b", false, "backslash"},
      {std::string("a\0b", 3), false, "control character"},
      {"a\tb", false, "control character"},
      {std::string(257, 'x'), false, "longer than 256"},
      {"\xc3(", false, "not valid UTF-8"},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckItemId("items.item_ids[0]", c.id);
    EXPECT_EQ(s.ok(), c.ok) << c.id;
    if (!c.ok) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(std::string(s.message()).find(c.message), std::string::npos) << s.message();
      EXPECT_EQ(ErrorReason(s), "INVALID_ITEM_ID");
      EXPECT_EQ(GetErrorInfo(s)->metadata.at("field"), "items.item_ids[0]");
    }
  }
}

TEST(TextTest, LengthUtf8AndControlCharacters) {
  EXPECT_TRUE(CheckText("f", "", TextRule{10, false, false}).ok());
  EXPECT_EQ(ErrorReason(CheckText("f", "", TextRule{10, true, false})), "MISSING_FIELD");
  EXPECT_EQ(ErrorReason(CheckText("f", "12345678901", TextRule{10, false, false})),
            "FIELD_TOO_LONG");
  EXPECT_TRUE(CheckText("f", "a\nb", TextRule{10, false, true}).ok());
  EXPECT_FALSE(CheckText("f", "a\nb", TextRule{10, false, false}).ok());
  EXPECT_FALSE(CheckText("f", "a\x7f", TextRule{10, false, true}).ok());
  EXPECT_EQ(ErrorReason(CheckText("f", "\xfe", TextRule{10, false, false})), "INVALID_UTF8");
}

TEST(ModelNameTest, Pattern) {
  EXPECT_TRUE(CheckModelName("m", "fmnist-32.v2_a").ok());
  EXPECT_FALSE(CheckModelName("m", "-leading").ok());
  EXPECT_FALSE(CheckModelName("m", "Upper").ok());
  EXPECT_FALSE(CheckModelName("m", "sp ace").ok());
  EXPECT_FALSE(CheckModelName("m", std::string(64, 'a')).ok());
  EXPECT_TRUE(CheckModelName("m", std::string(63, 'a')).ok());
}

TEST(RangeTest, BoundsAndFiniteness) {
  EXPECT_TRUE(CheckRange("x", 1.0, -1, 1).ok());
  EXPECT_FALSE(CheckRange("x", 1.0, 0, 1, true, false).ok());
  EXPECT_FALSE(CheckRange("x", 0.0, 0, 1, false, true).ok());
  EXPECT_FALSE(CheckRange("x", std::nan(""), 0, 1).ok());
  EXPECT_EQ(std::string(CheckRange("x", 2.5, 0, 1, true, false).message()),
            "x: 2.5 is outside [0, 1)");
}

}  // namespace
}  // namespace lethe
