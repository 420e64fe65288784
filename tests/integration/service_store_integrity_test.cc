// A stored model file whose bytes no longer match the SHA-256 recorded at publication is
// never served: Sample and DownloadModelVersion refuse it with DATA_LOSS, a download never
// marks the corrupt file complete, and lethectl exits 8 and leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

class StoreIntegrityTest : public ServiceTest {
 protected:
  // Registers a model of its own (the shared one must stay intact) and flips one byte of
  // `file` in the server's model store. Returns the corrupted version.
  pb::ModelVersion RegisterAndCorrupt(const std::string& name, const std::string& file) {
    FakeModel m = WriteFakeModel(s_->dir.path(), name, 20);
    pb::Model model;
    grpc::Status st = RegisterFakeModel(*s_->models, s_->op, m, &model);
    EXPECT_TRUE(st.ok()) << st.error_message();
    pb::GetModelRequest get;
    get.set_name(name);
    EXPECT_TRUE(s_->models->GetModel(Ctx(s_->dpo).get(), get, &model).ok());
    pb::ModelVersion v = model.versions(0);
    std::string path = s_->dir.path() + "/models/" + v.uri() + "/" + file;
    std::string bytes = ReadFile(path);
    EXPECT_FALSE(bytes.empty()) << path;
    bytes[bytes.size() / 2] ^= 0x01;
    WriteFileAtomic(path, bytes);
    return v;
  }

  static std::string Lethectl() { return LETHE_LETHECTL_BINARY; }
  std::vector<std::string> CliArgs(std::vector<std::string> args) {
    std::vector<std::string> argv = {Lethectl(), "--insecure",
                                     "--token",  s_->dpo,
                                     "--server", "127.0.0.1:" + std::to_string(s_->server->port())};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

TEST_F(StoreIntegrityTest, CorruptSampleIsRefusedNotServed) {
  pb::ModelVersion v = RegisterAndCorrupt("corrupt-sample", "sample.png");
  pb::SampleRequest req;
  req.set_model("corrupt-sample");
  pb::SampleResponse reply;
  grpc::Status st = s_->models->Sample(Ctx(s_->dpo).get(), req, &reply);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  google::rpc::ErrorInfo d = DetailOf(st);
  EXPECT_EQ(d.reason(), "STORED_FILE_CORRUPT");
  EXPECT_EQ(d.metadata().at("file"), "sample.png");
  EXPECT_EQ(d.metadata().at("expected_sha256"), v.files().at("sample.png"));
  EXPECT_NE(d.metadata().at("actual_sha256"), v.files().at("sample.png"));
  EXPECT_TRUE(reply.png().empty());

  // lethectl: exit 8, and the output file is not written.
  std::string out_png = s_->dir.path() + "/corrupt-sample-out.png";
  std::string output;
  EXPECT_EQ(RunCommand(CliArgs({"models", "sample", "corrupt-sample", "--out", out_png}), &output),
            8)
      << output;
  EXPECT_NE(output.find("DATA_LOSS"), std::string::npos) << output;
  EXPECT_NE(output.find("STORED_FILE_CORRUPT"), std::string::npos) << output;
  EXPECT_FALSE(PathExists(out_png));
}

TEST_F(StoreIntegrityTest, CorruptFileNeverArrivesCompleteAndLeavesNoFolder) {
  pb::ModelVersion v = RegisterAndCorrupt("corrupt-weights", "generator.pt");
  pb::DownloadModelVersionRequest req;
  req.set_model("corrupt-weights");
  auto ctx = Ctx(s_->dpo);
  auto reader = s_->models->DownloadModelVersion(ctx.get(), req);
  pb::DownloadChunk chunk;
  std::map<std::string, bool> completed;
  while (reader->Read(&chunk)) {
    if (chunk.last()) completed[chunk.file_name()] = true;
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "STORED_FILE_CORRUPT");
  EXPECT_EQ(DetailOf(st).metadata().at("file"), "generator.pt");
  EXPECT_TRUE(completed["discriminator.pt"]);  // sorted before it, intact
  EXPECT_FALSE(completed["generator.pt"]);     // its final chunk was never sent

  // lethectl: exit 8; the folder it created (with parents) is gone, intact files included.
  std::string root = s_->dir.path() + "/dl-corrupt";
  std::string output;
  EXPECT_EQ(
      RunCommand(CliArgs({"models", "download", "corrupt-weights", "--out", root + "/v"}), &output),
      8)
      << output;
  EXPECT_NE(output.find("STORED_FILE_CORRUPT"), std::string::npos) << output;
  EXPECT_FALSE(PathExists(root));

  // A directory that existed keeps what it had and gains nothing.
  std::string existing = s_->dir.path() + "/dl-existing";
  MakeDirs(existing);
  WriteFileAtomic(existing + "/keep.txt", "mine");
  EXPECT_EQ(
      RunCommand(CliArgs({"models", "download", "corrupt-weights", "--out", existing}), &output), 8)
      << output;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(existing)) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"keep.txt"});

  // The intact files of the same version still download and verify.
  std::string ok_dir = s_->dir.path() + "/dl-ok";
  EXPECT_EQ(RunCommand(CliArgs({"models", "download", "corrupt-weights", "--file",
                                "discriminator.pt", "--out", ok_dir}),
                       &output),
            0)
      << output;
  EXPECT_TRUE(PathExists(ok_dir + "/discriminator.pt"));
}

}  // namespace
}  // namespace lethe::testing
