// The torch-free format checks the engine's loaders call before touching any byte: IDX,
// CIFAR-10 batches and checkpoint manifests.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/data/cifar_format.h"
#include "engine/data/idx_format.h"
#include "engine/models/config.h"
#include "engine/models/manifest_format.h"

namespace lethe {
namespace {

std::string Be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

std::string IdxImages(uint32_t n, uint32_t rows, uint32_t cols) {
  std::string s = std::string("\0\0\x08\x03", 4) + Be32(n) + Be32(rows) + Be32(cols);
  for (uint32_t i = 0; i < n * rows * cols; ++i) s += char(i);
  return s;
}

std::string IdxLabels(const std::string& labels) {
  return std::string("\0\0\x08\x01", 4) + Be32(uint32_t(labels.size())) + labels;
}

// Runs `f`, expecting lethe::Error whose message contains every one of `parts`.
void ExpectError(const std::function<void()>& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const char* p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(IdxFormat, ParsesAValidPairWithOffsets) {
  std::string images = IdxImages(3, 2, 4);
  std::string labels = IdxLabels(std::string("\x00\x09\x05", 3));
  data::IdxPairView v = data::ParseIdxPair(images, labels, 10, "img", "lbl");
  EXPECT_EQ(v.count, 3);
  EXPECT_EQ(v.rows, 2);
  EXPECT_EQ(v.cols, 4);
  EXPECT_EQ(v.image_offset, 16u);
  EXPECT_EQ(v.label_offset, 8u);
  EXPECT_EQ(images.size(), v.image_offset + 3 * 2 * 4);
}

TEST(IdxFormat, RefusesEveryMalformedHeaderNamingTheFile) {
  ExpectError([] { data::ParseIdx("\0\0", 3, "short.idx"); }, {"too short", "short.idx"});
  ExpectError([] { data::ParseIdx(std::string("\0\0\x0d\x03", 4), 3, "f.idx"); },
              {"bad IDX magic 0x00000d03", "expected 0x00000803", "f.idx"});
  ExpectError([] { data::ParseIdx(std::string("\0\0\x08\x03\0\0", 6), 3, "h.idx"); },
              {"truncated IDX header", "h.idx"});
  std::string img = IdxImages(2, 2, 2);
  ExpectError([&] { data::ParseIdx(img.substr(0, img.size() - 1), 3, "t.idx"); },
              {"truncated IDX file t.idx", "header says 24"});
  ExpectError([&] { data::ParseIdx(img + "x", 3, "x.idx"); }, {"trailing data in IDX file x.idx"});
  // Declared sizes that would need terabytes, or an image side of zero / above the limit.
  std::string huge = std::string("\0\0\x08\x03", 4) + Be32(0xffffffff) + Be32(4096) + Be32(4096);
  ExpectError([&] { data::ParseIdx(huge, 3, "huge.idx"); }, {"too large", "huge.idx"});
  std::string zero = std::string("\0\0\x08\x03", 4) + Be32(1) + Be32(0) + Be32(28);
  ExpectError([&] { data::ParseIdx(zero, 3, "z.idx"); }, {"bad IDX image size 0x28", "z.idx"});
  std::string wide = std::string("\0\0\x08\x03", 4) + Be32(1) + Be32(1) + Be32(5000);
  ExpectError([&] { data::ParseIdx(wide, 3, "w.idx"); }, {"bad IDX image size 1x5000"});
}

TEST(IdxFormat, PairChecksCountsAndLabelRange) {
  std::string images = IdxImages(2, 1, 1);
  ExpectError([&] { data::ParseIdxPair(images, IdxLabels("\x01"), 10, "i", "l"); },
              {"count mismatch", "2 images", "1 labels"});
  ExpectError([&] { data::ParseIdxPair(images, IdxLabels("\x01\x0a"), 10, "i", "lab.idx"); },
              {"label 10 of item 1 out of range [0, 10)", "lab.idx"});
  EXPECT_EQ(data::ParseIdxPair(images, IdxLabels("\x01\x0a"), 11, "i", "l").count, 2);
}

TEST(CifarFormat, CountsRecordsAndChecksLabels) {
  std::string batch(2 * data::kCifarRecordBytes, '\0');
  batch[size_t(data::kCifarRecordBytes)] = 9;
  EXPECT_EQ(data::ParseCifarBatch(batch, 10, "b.bin").count, 2);
  ExpectError([&] { data::ParseCifarBatch("", 10, "empty.bin"); }, {"empty.bin", "3073-byte"});
  ExpectError([&] { data::ParseCifarBatch(batch.substr(1), 10, "cut.bin"); },
              {"truncated or malformed CIFAR-10 batch cut.bin", "6145 bytes"});
  batch[size_t(data::kCifarRecordBytes)] = char(200);
  ExpectError([&] { data::ParseCifarBatch(batch, 10, "l.bin"); },
              {"label 200 of record 1 out of range [0, 10) in l.bin"});
}

Json ValidManifest() {
  Json m = Json::Object();
  m["format_version"] = 1;
  m["config"] = models::ModelConfig::Preset("tiny", 32, 1, 10).ToJson();
  Json files = Json::Object();
  files["generator.pt"] = std::string(64, 'a');
  files["discriminator.pt"] = std::string(64, 'b');
  m["files"] = files;
  return m;
}

TEST(ManifestFormat, AcceptsAWrittenManifest) {
  models::CheckpointManifestView v =
      models::ParseCheckpointManifestText(ValidManifest().Dump(2), "ck");
  EXPECT_EQ(v.config.preset, "tiny");
  EXPECT_EQ(v.config.num_classes, 10);
  EXPECT_EQ(v.files.size(), 2u);
  EXPECT_EQ(v.files.at("generator.pt"), std::string(64, 'a'));
}

TEST(ManifestFormat, RefusesEachBrokenMemberNamingTheCheckpoint) {
  struct Case {
    std::function<void(Json&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](Json& m) { m["format_version"] = 2; }, "unsupported format_version 2"},
      {[](Json& m) { m["format_version"] = "1"; }, "format_version"},
      {[](Json& m) { m["config"]["resolution"] = 33; }, "resolution 33 is not a power of two"},
      {[](Json& m) { m["config"]["resolution"] = int64_t(1) << 32 | 32; },
       "resolution: 4294967328 is out of range"},
      {[](Json& m) { m["config"]["img_channels"] = 2; }, "img_channels must be 1 or 3"},
      {[](Json& m) { m["files"] = Json::Array(); }, "\"files\" is not an object"},
      {[](Json& m) { m["files"]["../etc/passwd"] = std::string(64, 'c'); },
       "invalid checkpoint file name \"../etc/passwd\""},
      {[](Json& m) { m["files"]["manifest.json"] = std::string(64, 'c'); },
       "invalid checkpoint file name \"manifest.json\""},
      {[](Json& m) { m["files"]["..\\x.pt"] = std::string(64, 'c'); },
       "invalid checkpoint file name \"..\\x.pt\""},
      // Control characters are refused and not echoed raw into the message.
      {[](Json& m) { m["files"]["a\rb.pt"] = std::string(64, 'c'); },
       "invalid checkpoint file name \"a?b.pt\""},
      {[](Json& m) { m["files"]["generator.pt"] = "ABC"; }, "files[\"generator.pt\"] is not a"},
      {[](Json& m) { m["files"]["generator.pt"] = 7; }, "files[\"generator.pt\"] is not a"},
      {[](Json& m) {
         Json f = Json::Object();
         f["generator.pt"] = std::string(64, 'a');
         m["files"] = f;
       },
       "manifest does not list discriminator.pt"},
  };
  for (const Case& c : cases) {
    Json m = ValidManifest();
    c.mutate(m);
    ExpectError([&] { models::ParseCheckpointManifestText(m.Dump(), "ckdir"); },
                {"checkpoint ckdir", c.message});
  }
  ExpectError([] { models::ParseCheckpointManifestText("{\"format_version\":", "ckdir"); },
              {"checkpoint ckdir: manifest.json is unreadable"});
  ExpectError([] { models::ParseCheckpointManifestText("[]", "ckdir"); }, {"not a JSON object"});
}

}  // namespace
}  // namespace lethe
