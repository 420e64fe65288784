#include "client/download.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/base/file_util.h"
#include "engine/base/json.h"

namespace lethe::cli {
namespace {

class DownloadWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/lethectl_download_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    MakeDirs(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The chunks a server sends for `files` (name -> content), `chunk` bytes each.
  std::vector<lethe::v1::DownloadChunk> Chunks(
      const std::vector<std::pair<std::string, std::string>>& files, size_t chunk,
      const std::string& version_sha) {
    std::vector<lethe::v1::DownloadChunk> out;
    for (const auto& [name, content] : files) {
      size_t offset = 0;
      do {
        lethe::v1::DownloadChunk c;
        c.set_version_id(2);
        c.set_version_sha256(version_sha);
        c.set_file_name(name);
        c.set_file_size(static_cast<int64_t>(content.size()));
        c.set_file_sha256(Sha256Hex(content));
        c.set_offset(static_cast<int64_t>(offset));
        c.set_data(content.substr(offset, chunk));
        offset += chunk;
        c.set_last(offset >= content.size());
        out.push_back(c);
      } while (offset < content.size());
    }
    return out;
  }

  // A version: generator.pt plus a manifest naming it.
  std::vector<std::pair<std::string, std::string>> Version(std::string* version_sha) {
    std::string weights(10000, '\0');
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>(i * 7);
    Json files = Json::Object();
    files["generator.pt"] = Sha256Hex(weights);
    Json manifest = Json::Object();
    manifest["format_version"] = 1;
    manifest["files"] = files;
    std::string text = manifest.Dump(2);
    *version_sha = Sha256Hex(text);
    return {{"generator.pt", weights}, {"manifest.json", text}};
  }

  std::string dir_;
};

TEST_F(DownloadWriterTest, WritesAndVerifiesAWholeVersion) {
  std::string vsha;
  auto files = Version(&vsha);
  DownloadWriter w(dir_);
  for (const auto& c : Chunks(files, 4096, vsha)) ASSERT_TRUE(w.Accept(c).ok());
  ASSERT_TRUE(w.Finish(true).ok());
  EXPECT_EQ(w.version_id(), 2);
  ASSERT_EQ(w.files().size(), 2u);
  EXPECT_EQ(ReadFile(dir_ + "/generator.pt"), files[0].second);
  EXPECT_EQ(ReadFile(dir_ + "/manifest.json"), files[1].second);
  EXPECT_FALSE(PathExists(dir_ + "/generator.pt.part"));
}

TEST_F(DownloadWriterTest, CorruptChunkFailsAndLeavesNoFile) {
  std::string vsha;
  auto chunks = Chunks(Version(&vsha), 4096, vsha);
  std::string data = chunks[1].data();
  data[0] ^= 1;
  chunks[1].set_data(data);
  DownloadWriter w(dir_);
  absl::Status s;
  for (const auto& c : chunks) {
    s = w.Accept(c);
    if (!s.ok()) break;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("generator.pt: sha256 mismatch"), std::string::npos);
  EXPECT_FALSE(PathExists(dir_ + "/generator.pt"));
  EXPECT_FALSE(PathExists(dir_ + "/generator.pt.part"));
}

TEST_F(DownloadWriterTest, OutOfOrderOrTruncatedStreams) {
  std::string vsha;
  auto chunks = Chunks(Version(&vsha), 4096, vsha);
  {
    DownloadWriter w(dir_);
    ASSERT_TRUE(w.Accept(chunks[0]).ok());
    absl::Status s = w.Accept(chunks[2]);  // skips chunk 1
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("expected 4096"), std::string::npos);
  }
  EXPECT_FALSE(PathExists(dir_ + "/generator.pt.part"));  // abandoned on destruction
  {
    DownloadWriter w(dir_);
    ASSERT_TRUE(w.Accept(chunks[0]).ok());
    absl::Status s = w.Finish(true);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("stream ended after 4096 of 10000 bytes"), std::string::npos);
  }
}

TEST_F(DownloadWriterTest, ManifestMustMatchTheVersionAndItsFiles) {
  std::string vsha;
  auto files = Version(&vsha);
  {
    DownloadWriter w(dir_);
    for (const auto& c : Chunks(files, 65536, std::string(64, '0'))) ASSERT_TRUE(w.Accept(c).ok());
    absl::Status s = w.Finish(true);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("the version's sha256 is"), std::string::npos);
  }
  {
    // The manifest names generator.pt, which never arrives.
    DownloadWriter w(dir_);
    for (const auto& c : Chunks({files[1]}, 65536, vsha)) ASSERT_TRUE(w.Accept(c).ok());
    absl::Status s = w.Finish(true);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("generator.pt missing"), std::string::npos);
    // One file on purpose (--file) is fine.
    EXPECT_TRUE(w.Finish(false).ok());
  }
}

TEST_F(DownloadWriterTest, RefusesUnsafeNames) {
  for (const std::string name : {"../evil", "a/b", "", "..", "x\ny"}) {
    EXPECT_FALSE(IsSafeFileName(name)) << name;
    lethe::v1::DownloadChunk c;
    c.set_file_name(name);
    c.set_last(true);
    DownloadWriter w(dir_);
    EXPECT_EQ(w.Accept(c).code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_TRUE(IsSafeFileName("generator.pt"));
  EXPECT_FALSE(PathExists(testing::TempDir() + "/evil"));
}

TEST_F(DownloadWriterTest, ChunksOfAnotherVersionAreRefused) {
  std::string vsha;
  auto chunks = Chunks(Version(&vsha), 4096, vsha);
  chunks[1].set_version_id(3);
  DownloadWriter w(dir_);
  ASSERT_TRUE(w.Accept(chunks[0]).ok());
  EXPECT_EQ(w.Accept(chunks[1]).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace lethe::cli
