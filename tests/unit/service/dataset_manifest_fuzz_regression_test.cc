// Inputs the dataset_manifest fuzzer found (tests/fuzz/corpus/dataset_manifest/
// regression_*): a JSONL manifest may list an item id starting with '#' or '{' (a valid
// id), but written as TSV that line became a comment or a JSON line, so the item was lost
// or the file mixed forms. The TSV writer now refuses such ids instead.
#include <gtest/gtest.h>

#include <string>

#include "common/dataset_manifest.h"

namespace lethe {
namespace {

std::string JsonlLine(const std::string& id) {
  return "{\"id\":\"" + id + "\",\"sha256\":\"" + std::string(64, '0') +
         "\",\"label\":1,\"split\":\"train\"}\n";
}

TEST(DatasetManifestRegression, TsvWriterRefusesIdsATsvLineCannotList) {
  for (const char* id : {"#a", "{a", "#", "{x}/3"}) {
    auto parsed = ParseDatasetManifest(JsonlLine("ok/0") + JsonlLine(id), "items.jsonl", 10);
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.status();
    ASSERT_EQ(parsed->size(), 2u);
    EXPECT_EQ((*parsed)[1].id, id);
    auto tsv = FormatDatasetManifestTsv(*parsed);
    ASSERT_FALSE(tsv.ok()) << id << " written as:\n" << *tsv;
    EXPECT_EQ(tsv.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(tsv.status().message())
                  .find(std::string("item id \"") + id + "\" starts with '" + id[0] +
                        "': a TSV line cannot list it"),
              std::string::npos)
        << tsv.status().message();
  }
  // '#' and '{' elsewhere in an id are fine in TSV, and such a manifest round-trips.
  auto ok = ParseDatasetManifest(JsonlLine("a#1") + JsonlLine("b/{2}"), "items.jsonl", 10);
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto tsv = FormatDatasetManifestTsv(*ok);
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  auto again = ParseDatasetManifest(*tsv, "items.tsv", 10);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].id, "a#1");
  EXPECT_EQ((*again)[1].id, "b/{2}");
}

TEST(DatasetManifestRegression, JsonlWithRawControlCharacterIsRefusedWithItsOffset) {
  // Strict JSON: a raw tab inside a JSONL string is a named error, not a silent accept.
  auto r = ParseDatasetManifest("{\"id\":\"a\tb\",\"sha256\":\"" + std::string(64, '0') +
                                    "\",\"label\":1,\"split\":\"train\"}\n",
                                "items.jsonl", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("items.jsonl:1: json: raw control character 0x09 in string at offset 8"),
            std::string::npos)
      << r.status().message();
}

TEST(DatasetManifestRegression, JsonlWithInvalidUtf8IsRefused) {
  auto r = ParseDatasetManifest(JsonlLine("caf\xC3"), "items.jsonl", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("items.jsonl:1: json: truncated UTF-8"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace lethe
