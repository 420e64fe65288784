// The audit chain through the API, and model registration, download and samples.
#include <gtest/gtest.h>

#include <chrono>

#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

// Tampering tests get a database of their own: the edits must not leak into other tests.
class AuditTamperTest : public ServiceTest {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override {
    saved_ = s_;
    ServiceTest::SetUpTestSuite();
  }
  void TearDown() override {
    ServiceTest::TearDown();
    ServiceTest::TearDownTestSuite();
    s_ = saved_;
  }
  SharedService* saved_ = nullptr;
};

TEST_F(AuditTamperTest, AuditChainVerifiesThenDetectsAnEditedRecord) {
  pb::ForgetRequest r;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/" + std::to_string(200 + i)}), &r)
            .ok());
  }
  pb::VerifyAuditChainResponse v;
  ASSERT_TRUE(s_->audit->VerifyAuditChain(Ctx(s_->op).get(), {}, &v).ok());
  EXPECT_TRUE(v.ok()) << v.reason();
  int64_t total = std::stoll(s_->db.Query("SELECT count(*) FROM audit_log"));
  EXPECT_EQ(v.records_checked(), total);
  EXPECT_EQ(v.head_hash(), s_->db.Query("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1"));

  // The records chain: each prev_hash is the hash before it.
  pb::ListAuditRecordsRequest list;
  list.set_page_size(2);
  std::string prev(64, '0');
  int64_t seen = 0;
  do {
    pb::ListAuditRecordsResponse page;
    ASSERT_TRUE(s_->audit->ListAuditRecords(Ctx(s_->op).get(), list, &page).ok());
    for (const auto& rec : page.records()) {
      EXPECT_EQ(rec.prev_hash(), prev);
      EXPECT_EQ(rec.seq(), seen + 1);
      prev = rec.hash();
      ++seen;
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(seen, total);

  // Tamper with the middle record's payload: verification names exactly that record.
  std::string seq = s_->db.Query("SELECT seq FROM audit_log WHERE request_id = '" + r.id() + "'");
  s_->db.Exec(
      "UPDATE audit_log SET payload = jsonb_set(payload, '{item_count}', '99') "
      "WHERE seq = " +
      seq);
  ASSERT_TRUE(s_->audit->VerifyAuditChain(Ctx(s_->op).get(), {}, &v).ok());
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(std::to_string(v.first_bad_seq()), seq);
  EXPECT_NE(v.reason().find("record " + seq + ": stored hash"), std::string::npos) << v.reason();
}

TEST_F(AuditTamperTest, AuditChainDetectsADeletedRecord) {
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/210"}), &r).ok());
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/211"}), &r).ok());
  std::string last = s_->db.Query("SELECT max(seq) FROM audit_log");
  // Delete the newest record: the chain head still names it.
  s_->db.Exec("DELETE FROM audit_log WHERE seq = " + last);
  pb::VerifyAuditChainResponse v;
  ASSERT_TRUE(s_->audit->VerifyAuditChain(Ctx(s_->op).get(), {}, &v).ok());
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(std::to_string(v.first_bad_seq()), last);
  EXPECT_NE(v.reason().find("missing"), std::string::npos) << v.reason();
}

TEST_F(ServiceTest, RegisteredModelHasItsVersionFilesAndSample) {
  pb::GetModelRequest get;
  get.set_name(s_->model.name);
  pb::Model m;
  ASSERT_TRUE(s_->models->GetModel(Ctx(s_->dpo).get(), get, &m).ok());
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(m.resolution(), 32);
  EXPECT_EQ(m.item_width(), 28);
  EXPECT_EQ(m.item_count(), 310);
  ASSERT_EQ(m.versions_size(), 1);
  const pb::ModelVersion& v = m.versions(0);
  EXPECT_EQ(v.state(), pb::VERSION_STATE_ACTIVE);
  EXPECT_EQ(m.production_version_id(), v.id());
  EXPECT_EQ(v.sha256(), Sha256Hex(ReadFile(s_->model.checkpoint_dir + "/manifest.json")));
  EXPECT_TRUE(v.has_sample());
  EXPECT_EQ(v.files().size(), 3u);  // generator, discriminator, sample
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log WHERE action = 'model.registered'"), "1");

  // Download every file and check each against its hash.
  pb::DownloadModelVersionRequest dl;
  dl.set_model(s_->model.name);
  auto ctx = Ctx(s_->dpo);
  auto reader = s_->models->DownloadModelVersion(ctx.get(), dl);
  std::map<std::string, std::string> files, hashes;
  pb::DownloadChunk chunk;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.offset(), int64_t(files[chunk.file_name()].size()));
    files[chunk.file_name()] += chunk.data();
    hashes[chunk.file_name()] = chunk.file_sha256();
    EXPECT_EQ(chunk.version_id(), v.id());
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(files.size(), 4u);  // + manifest.json
  for (const auto& [name, data] : files) {
    EXPECT_EQ(Sha256Hex(data), hashes[name]) << name;
    EXPECT_EQ(data, ReadFile(s_->model.checkpoint_dir + "/" + name)) << name;
  }

  pb::SampleRequest sreq;
  sreq.set_model(s_->model.name);
  pb::SampleResponse sample;
  ASSERT_TRUE(s_->models->Sample(Ctx(s_->dpo).get(), sreq, &sample).ok());
  EXPECT_EQ(sample.png(), ReadFile(s_->model.checkpoint_dir + "/sample.png"));
  sreq.set_version_id(999);
  grpc::Status st = s_->models->Sample(Ctx(s_->dpo).get(), sreq, &sample);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("has no version 999"), std::string::npos);
}

TEST_F(ServiceTest, RegisteringTwiceOrFromBadFilesFails) {
  grpc::Status st = RegisterFakeModel(*s_->models, s_->op, s_->model);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find("is already registered"), std::string::npos);

  FakeModel bad = WriteFakeModel(s_->dir.path(), "tampered", 5);
  WriteFileAtomic(bad.checkpoint_dir + "/generator.pt", "not what the manifest says");
  st = RegisterFakeModel(*s_->models, s_->op, bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("but the manifest says"), std::string::npos)
      << st.error_message();

  FakeModel badlines = WriteFakeModel(s_->dir.path(), "badlines", 5);
  WriteFileAtomic(badlines.items_file, "train/0\tabc\t1\ttrain\n");
  st = RegisterFakeModel(*s_->models, s_->op, badlines);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find(":1: sha256 of \"train/0\" is not 64 lowercase hex"),
            std::string::npos)
      << st.error_message();
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM models WHERE name IN ('tampered', 'badlines')"),
            "0");

  pb::RegisterModelRequest rel;
  rel.set_name("relative");
  rel.set_checkpoint_dir("ckpt");
  rel.set_dataset_items_file("items.tsv");
  pb::Model m;
  st = s_->models->RegisterModel(Ctx(s_->op).get(), rel, &m);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("is not an absolute path"), std::string::npos);
}

TEST_F(ServiceTest, RegisteringSixtyThousandItemsTakesSeconds) {
  FakeModel big = WriteFakeModel(s_->dir.path(), "big", 60000, 0, false);
  auto start = std::chrono::steady_clock::now();
  pb::Model m;
  grpc::Status st = RegisterFakeModel(*s_->models, s_->op, big, &m);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(m.item_count(), 60000);
  EXPECT_LT(secs, 15.0);
  std::cerr << "registered 60000 items in " << secs << " s\n";
  // Items are then known to submits.
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest("big", {"train/59999"}), &r).ok());
}

}  // namespace
}  // namespace lethe::testing
