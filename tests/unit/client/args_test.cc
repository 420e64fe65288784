#include "client/args.h"

#include <gtest/gtest.h>

namespace lethe::cli {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {"model", FlagKind::kValue, "M", ""},
    {"item", FlagKind::kMulti, "ID", ""},
    {"items-file", FlagKind::kRepeated, "F", ""},
    {"json", FlagKind::kBool, "", ""},
    {"help", FlagKind::kBool, "", ""},
};

TEST(ParseFlagsTest, ValuesBoolsAndPositionals) {
  auto parsed = ParseFlags(
      kSpecs, {"ID1", "--model", "m1", "--json", "--items-file=a.txt", "--items-file", "b.txt"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get("model"), "m1");
  EXPECT_TRUE(parsed->Has("json"));
  EXPECT_FALSE(parsed->Has("item"));
  EXPECT_EQ(parsed->GetAll("items-file"), (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(parsed->positionals(), (std::vector<std::string>{"ID1"}));
}

TEST(ParseFlagsTest, MultiFlagTakesValuesUntilNextFlagAndRepeats) {
  auto parsed = ParseFlags(kSpecs, {"--item", "train/1", "train/2", "--model", "m", "--item",
                                    "train/3", "--item=train/4"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->GetAll("item"),
            (std::vector<std::string>{"train/1", "train/2", "train/3", "train/4"}));
  EXPECT_TRUE(parsed->positionals().empty());
}

TEST(ParseFlagsTest, DoubleDashEndsFlags) {
  auto parsed = ParseFlags(kSpecs, {"--json", "--", "--model", "-x"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->Has("model"));
  EXPECT_EQ(parsed->positionals(), (std::vector<std::string>{"--model", "-x"}));
}

TEST(ParseFlagsTest, ErrorsNameTheFlag) {
  auto unknown = ParseFlags(kSpecs, {"--modle", "x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--modle"), std::string::npos);

  auto missing = ParseFlags(kSpecs, {"--model"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--model needs a value"), std::string::npos);

  auto twice = ParseFlags(kSpecs, {"--model", "a", "--model", "b"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("more than once"), std::string::npos);

  auto bool_value = ParseFlags(kSpecs, {"--json=yes"});
  ASSERT_FALSE(bool_value.ok());
  EXPECT_NE(bool_value.status().message().find("takes no value"), std::string::npos);

  auto empty_multi = ParseFlags(kSpecs, {"--item", "--json"});
  ASSERT_FALSE(empty_multi.ok());
  EXPECT_NE(empty_multi.status().message().find("--item needs at least one value"),
            std::string::npos);
}

TEST(ParseFlagsTest, ShortHelp) {
  auto parsed = ParseFlags(kSpecs, {"-h"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->Has("help"));
}

const std::vector<std::vector<std::string>> kCommands = {
    {"submit", "item"}, {"submit", "class"}, {"get"}, {"models", "list"}, {"audit", "export"}};
const std::vector<FlagSpec> kGlobals = {
    {"server", FlagKind::kValue, "HOST", ""},
    {"json", FlagKind::kBool, "", ""},
};

TEST(ResolveCommandTest, FindsCommandAndKeepsTheRest) {
  auto r = ResolveCommand(kCommands, kGlobals,
                          {"--server", "h:1", "submit", "--json", "item", "--model", "m"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->index, 0u);
  EXPECT_EQ(r->rest, (std::vector<std::string>{"--server", "h:1", "--json", "--model", "m"}));

  auto get = ResolveCommand(kCommands, kGlobals, {"get", "abc", "--json"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->index, 2u);
  EXPECT_EQ(get->rest, (std::vector<std::string>{"abc", "--json"}));

  auto inline_global = ResolveCommand(kCommands, kGlobals, {"--server=x:2", "models", "list"});
  ASSERT_TRUE(inline_global.ok());
  EXPECT_EQ(inline_global->index, 3u);
  EXPECT_EQ(inline_global->rest, (std::vector<std::string>{"--server=x:2"}));
}

TEST(ResolveCommandTest, Errors) {
  auto unknown = ResolveCommand(kCommands, kGlobals, {"frobnicate"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown command 'frobnicate'"), std::string::npos);

  auto group = ResolveCommand(kCommands, kGlobals, {"submit"});
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.status().message().find("needs a subcommand: item, class"), std::string::npos);

  auto bad_sub = ResolveCommand(kCommands, kGlobals, {"models", "delete"});
  ASSERT_FALSE(bad_sub.ok());
  EXPECT_NE(bad_sub.status().message().find("unknown command 'models delete'"), std::string::npos);

  auto early_flag = ResolveCommand(kCommands, kGlobals, {"submit", "--model", "m", "item"});
  ASSERT_FALSE(early_flag.ok());
  EXPECT_NE(early_flag.status().message().find("--model"), std::string::npos);

  EXPECT_FALSE(ResolveCommand(kCommands, kGlobals, {"--json"}).ok());
}

TEST(TypedFlagTest, Integers) {
  EXPECT_EQ(*ParseIntFlag("--page-size", "25", 1, 500), 25);
  auto out_of_range = ParseIntFlag("--page-size", "501", 1, 500);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().message(),
            "--page-size: expected an integer in [1, 500], got \"501\"");
  EXPECT_FALSE(ParseIntFlag("--days", "3x", 1, 60).ok());
}

TEST(TypedFlagTest, DoublesMustBeFinite) {
  EXPECT_DOUBLE_EQ(*ParseDoubleFlag("--fake-label", "-0.25"), -0.25);
  EXPECT_FALSE(ParseDoubleFlag("--fake-label", "nan").ok());
  EXPECT_FALSE(ParseDoubleFlag("--fake-label", "inf").ok());
  EXPECT_FALSE(ParseDoubleFlag("--fake-label", "").ok());
}

TEST(TypedFlagTest, Durations) {
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("--timeout", "30"), 30);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("--timeout", "1.5s"), 1.5);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("--timeout", "500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("--timeout", "2m"), 120);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("--timeout", "1h"), 3600);
  EXPECT_FALSE(ParseDurationSeconds("--timeout", "0").ok());
  EXPECT_FALSE(ParseDurationSeconds("--timeout", "-3s").ok());
  EXPECT_FALSE(ParseDurationSeconds("--timeout", "soon").ok());
}

TEST(TypedFlagTest, ChoicesAreCaseAndSeparatorInsensitive) {
  std::vector<std::pair<std::string, int>> choices = {{"few-shot", 1}, {"zero-shot", 2}};
  EXPECT_EQ(*ParseChoice("--mode", "ZERO_SHOT", choices), 2);
  EXPECT_EQ(*ParseChoice("--mode", "few-shot", choices), 1);
  auto bad = ParseChoice("--mode", "one-shot", choices);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--mode: expected one of few-shot|zero-shot, got \"one-shot\"");
}

TEST(ItemsFileTest, SkipsCommentsAndBlankLinesAndTrims) {
  EXPECT_EQ(ParseItemsFile("# ids\ntrain/1\r\n\n  train/2  \n#train/3\ntrain/4"),
            (std::vector<std::string>{"train/1", "train/2", "train/4"}));
  EXPECT_TRUE(ParseItemsFile("\n# nothing\n").empty());
}

TEST(FlagHelpTest, ListsEveryFlagWithItsValue) {
  std::string help = FormatFlagHelp(kSpecs);
  EXPECT_NE(help.find("--model M"), std::string::npos);
  EXPECT_NE(help.find("--item ID..."), std::string::npos);
  EXPECT_NE(help.find("--json"), std::string::npos);
}

}  // namespace
}  // namespace lethe::cli
