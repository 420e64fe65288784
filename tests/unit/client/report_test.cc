#include "client/report.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/merkle.h"
#include "common/signed_note.h"
#include "common/tlog_checkpoint.h"
#include "engine/base/sha256.h"

namespace lethe::cli {
namespace {

lethe::v1::AuditRecord Record(int64_t seq, const std::string& prev, const std::string& action,
                              const std::string& payload) {
  lethe::v1::AuditRecord r;
  r.set_seq(seq);
  r.mutable_at()->set_seconds(1700000000 + seq);
  r.mutable_at()->set_nanos(250000000);
  r.set_actor("token:4:dpo-1");
  r.set_action(action);
  r.set_request_id("11111111-2222-4333-8444-555555555555");
  r.set_payload_json(payload);
  r.set_prev_hash(prev);
  r.set_hash(Sha256Hex(prev + CheckAuditRecord(r).canonical_json));
  return r;
}

TEST(AuditRecordCheckTest, CanonicalJsonIsSortedCompactAndMicrosecondExact) {
  lethe::v1::AuditRecord r =
      Record(3, std::string(64, '0'), "request.received", "{\"b\": 2, \"a\": [1, \"x\"]}");
  AuditRecordCheck check = CheckAuditRecord(r);
  EXPECT_EQ(check.canonical_json,
            "{\"action\":\"request.received\",\"actor\":\"token:4:dpo-1\","
            "\"at\":\"2023-11-14T22:13:23.250000Z\",\"payload\":{\"a\":[1,\"x\"],\"b\":2},"
            "\"request_id\":\"11111111-2222-4333-8444-555555555555\",\"seq\":3}");
  Sha256 h;
  h.Update(std::string(64, '0'));
  h.Update(check.canonical_json);
  EXPECT_EQ(check.recomputed_hash, h.FinishHex());
  EXPECT_TRUE(check.hash_matches);
  EXPECT_TRUE(check.error.empty());
}

TEST(AuditRecordCheckTest, DetectsAnEditedRecord) {
  lethe::v1::AuditRecord r = Record(3, std::string(64, '0'), "request.received", "{\"n\": 1}");
  r.set_payload_json("{\"n\": 2}");
  AuditRecordCheck check = CheckAuditRecord(r);
  EXPECT_FALSE(check.hash_matches);
  EXPECT_NE(check.error.find("recomputed"), std::string::npos);
  r.set_payload_json("{not json");
  EXPECT_FALSE(CheckAuditRecord(r).hash_matches);
}

ReportInputs CompletedRequest() {
  ReportInputs in;
  in.generated_at = "2024-01-01T00:00:00Z";
  in.server = "localhost:7443";
  lethe::v1::ForgetRequest& r = in.request;
  r.set_id("11111111-2222-4333-8444-555555555555");
  r.set_model("fmnist");
  r.set_kind(lethe::v1::FORGET_KIND_ITEMS);
  r.set_state(lethe::v1::REQUEST_STATE_COMPLETED);
  r.set_subject_hash(std::string(64, 'e'));
  auto* item = r.add_items();
  item->set_item_id("train/5");
  item->set_sha256(std::string(64, 'a'));
  r.mutable_result()->set_model_version_id(2);
  r.mutable_result()->set_model_version_sha256(std::string(64, '2'));
  r.mutable_result()->set_report_json(
      "{\"before\": {\"auc_u\": 0.51}, \"after\": {\"auc_u\": 0.83},"
      " \"destination\": {\"reached\": true, \"metric\": \"auc_u\", \"threshold\": 0.8,"
      " \"value\": 0.83, \"requirement\": \"auc_u >= 0.8\"}}");
  lethe::v1::Model model;
  model.set_name("fmnist");
  auto* v2 = model.add_versions();
  v2->set_id(2);
  v2->set_parent_id(1);
  v2->set_sha256(std::string(64, '2'));
  v2->set_state(lethe::v1::VERSION_STATE_ACTIVE);
  auto* v1 = model.add_versions();
  v1->set_id(1);
  v1->set_sha256(std::string(64, '1'));
  v1->set_state(lethe::v1::VERSION_STATE_SUPERSEDED);
  in.model = model;
  lethe::v1::AuditRecord a = Record(7, std::string(64, '9'), "request.received", "{}");
  lethe::v1::AuditRecord b = Record(8, a.hash(), "request.queued", "{\"job\": 3}");
  lethe::v1::AuditRecord c = Record(12, std::string(64, '8'), "request.completed", "{}");
  in.records = {a, b, c};
  lethe::v1::VerifyAuditChainResponse chain;
  chain.set_ok(true);
  chain.set_records_checked(12);
  chain.set_head_hash(c.hash());
  in.chain = chain;
  in.grid_file = "grid.png";
  in.grid_sha256 = std::string(64, 'd');
  in.grid_version_id = 2;
  return in;
}

TEST(ReportTest, CompletedRequestCarriesOutcomeVersionsAndEvidence) {
  ReportInputs in = CompletedRequest();
  Json rep = BuildReport(in);
  EXPECT_EQ(rep.at("format").AsString(), kReportFormat);
  EXPECT_EQ(rep.at("request").at("id").AsString(), in.request.id());
  EXPECT_FALSE(rep.at("request").Has("items"));  // listed once, under "items"
  ASSERT_EQ(rep.at("items").size(), 1u);
  EXPECT_EQ(rep.at("items")[0].at("item_id").AsString(), "train/5");
  EXPECT_TRUE(rep.at("outcome").at("destination_reached").AsBool());
  EXPECT_EQ(rep.at("outcome").at("destination").at("metric").AsString(), "auc_u");
  EXPECT_DOUBLE_EQ(rep.at("metrics").at("before").at("auc_u").AsDouble(), 0.51);
  EXPECT_DOUBLE_EQ(rep.at("metrics").at("after").at("auc_u").AsDouble(), 0.83);
  EXPECT_DOUBLE_EQ(rep.at("metrics").at("thresholds").at("auc_u").AsDouble(), 0.8);
  EXPECT_EQ(rep.at("model").at("base_version").at("id").AsInt(), 1);
  EXPECT_EQ(rep.at("model").at("result_version").at("id").AsInt(), 2);
  const Json& records = rep.at("audit").at("records");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(rep.at("audit").at("all_hashes_match").AsBool());
  EXPECT_TRUE(records[1].at("links_to_previous").AsBool());  // seq 7 -> 8 adjacent
  EXPECT_FALSE(records[2].Has("links_to_previous"));         // 8 -> 12: not adjacent
  // The canonical JSON in the report reproduces the stored hash.
  for (const Json& rec : records.elements()) {
    EXPECT_EQ(Sha256Hex(rec.at("prev_hash").AsString() + rec.at("canonical_json").AsString()),
              rec.at("hash").AsString());
  }
  EXPECT_TRUE(rep.at("audit").at("chain_verification").at("ok").AsBool());
  EXPECT_EQ(rep.at("grid").at("file").AsString(), "grid.png");
}

TEST(ReportTest, TamperedRecordOrBrokenLinkIsReported) {
  ReportInputs in = CompletedRequest();
  in.records[1].set_prev_hash(std::string(64, '7'));  // no longer links to seq 7
  Json rep = BuildReport(in);
  EXPECT_FALSE(rep.at("audit").at("all_hashes_match").AsBool());
  EXPECT_FALSE(rep.at("audit").at("records")[1].at("hash_matches").AsBool());
  EXPECT_NE(RenderReportMarkdown(rep).find("MISMATCH"), std::string::npos);
}

TEST(ReportTest, FallsBackToVersionMetricsAndNotesMissingPieces) {
  ReportInputs in = CompletedRequest();
  in.request.mutable_result()->clear_report_json();
  (*in.model->mutable_versions(1)->mutable_metrics())["fd"] = 10;
  (*in.model->mutable_versions(0)->mutable_metrics())["fd"] = 30;
  in.chain.reset();
  in.chain_error = "PERMISSION_DENIED: operator only";
  in.grid_file.clear();
  in.grid_note = "NOT_FOUND: no sample";
  Json rep = BuildReport(in);
  EXPECT_DOUBLE_EQ(rep.at("metrics").at("before").at("fd").AsDouble(), 10);
  EXPECT_DOUBLE_EQ(rep.at("metrics").at("after").at("fd").AsDouble(), 30);
  EXPECT_TRUE(rep.at("outcome").at("destination").is_null());
  EXPECT_FALSE(rep.at("audit").at("chain_verification").at("available").AsBool());
  std::string md = RenderReportMarkdown(rep);
  EXPECT_NE(md.find("| fd | 10 | 30 |"), std::string::npos);
  EXPECT_NE(md.find("not available to this token: PERMISSION_DENIED"), std::string::npos);
  EXPECT_NE(md.find("No sample grid: NOT_FOUND: no sample"), std::string::npos);
}

TEST(ReportTest, MarkdownHasEverySection) {
  std::string md = RenderReportMarkdown(BuildReport(CompletedRequest()));
  for (const char* heading :
       {"# Erasure verification report", "## Request", "## Items (1)", "## Outcome", "## Metrics",
        "## Model versions", "## Audit trail", "### How to recompute the hashes", "## Samples"}) {
    EXPECT_NE(md.find(heading), std::string::npos) << heading;
  }
  EXPECT_NE(md.find("| auc_u | 0.51 | 0.83 |"), std::string::npos);
  EXPECT_NE(md.find("| destination reached | yes |"), std::string::npos);
  EXPECT_NE(md.find("| destination policy | generator (default) |"), std::string::npos);
  EXPECT_NE(md.find("| kind | items |"), std::string::npos);
  EXPECT_NE(md.find("| state | completed |"), std::string::npos);
  EXPECT_NE(md.find("![samples of version 2](grid.png)"), std::string::npos);
  EXPECT_NE(md.find("Whole-chain verification at export time: OK"), std::string::npos);
}

TEST(ReportTest, FailedRequestWithoutVersion) {
  ReportInputs in = CompletedRequest();
  in.request.set_state(lethe::v1::REQUEST_STATE_FAILED);
  in.request.mutable_result()->Clear();
  in.request.mutable_result()->set_error("destination not reached after 2000 iterations");
  Json rep = BuildReport(in);
  EXPECT_TRUE(rep.at("outcome").at("destination_reached").is_null());
  EXPECT_TRUE(rep.at("model").at("result_version").is_null());
  EXPECT_NE(RenderReportMarkdown(rep).find("destination not reached after 2000"),
            std::string::npos);
}

}  // namespace
}  // namespace lethe::cli

// Transparency evidence: a signed checkpoint over a small tree that holds the request's
// records, and one inclusion proof per record, as the server would give them.
namespace lethe::cli {
namespace {

std::string NewKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

struct Evidence {
  ReportInputs in;
  NoteSigner signer;
};

// Records 1..6 of a log of 9; the request owns records 2, 4 and 5.
Evidence Build() {
  std::vector<lethe::v1::AuditRecord> all;
  std::string prev(64, '0');
  for (int64_t seq = 1; seq <= 9; ++seq) {
    all.push_back(Record(seq, prev, "request.received", "{\"n\": " + std::to_string(seq) + "}"));
    prev = all.back().hash();
  }
  std::vector<merkle::Hash> leaves;
  merkle::NodeMap nodes;
  merkle::CompactRange range;
  for (const auto& r : all) {
    range.Append(merkle::HashLeaf(r.hash()),
                 [&](const merkle::NodeId& id, const merkle::Hash& h) { nodes[id] = h; });
  }
  Evidence e{ReportInputs(), *NoteSigner::FromPrivateKeyPem("test/audit", NewKeyPem())};
  TlogCheckpoint cp{"test/audit", 9, range.Root(), "2026-01-01T00:00:00Z"};
  lethe::v1::AuditCheckpoint pb;
  pb.set_note(*e.signer.Sign(FormatCheckpointText(cp)));
  pb.set_tree_size(9);
  e.in.checkpoint = pb;
  lethe::v1::AuditPublicKey key;
  key.set_verifier_key(e.signer.verifier().VerifierKey());
  e.in.keys.push_back(key);
  for (int64_t seq : {2, 4, 5}) {
    e.in.records.push_back(all[size_t(seq - 1)]);
    lethe::v1::AuditInclusionProof p;
    p.set_seq(seq);
    p.set_leaf_index(seq - 1);
    p.set_tree_size(9);
    const std::vector<merkle::Hash> hashes =
        *merkle::RangeHashes(nodes, merkle::InclusionProofRanges(seq - 1, 9));
    for (const merkle::Hash& h : hashes) {
      p.add_hashes(merkle::ToHex(h));
    }
    e.in.proofs.push_back(p);
  }
  return e;
}

TEST(ReportTransparencyTest, ProofsOfTheRequestsRecordsVerifyAgainstTheSignedCheckpoint) {
  Evidence e = Build();
  Json report = BuildReport(e.in);
  const Json& t = report.at("audit").at("transparency");
  EXPECT_TRUE(t.GetBool("checkpoint_signature_verified", false)) << t.Dump(2);
  EXPECT_TRUE(t.GetBool("all_proofs_verified", false)) << t.Dump(2);
  EXPECT_EQ(t.GetInt("tree_size", 0), 9);
  EXPECT_EQ(t.at("inclusion_proofs").elements().size(), 3u);
  std::string md = RenderReportMarkdown(report);
  EXPECT_NE(md.find("all verified"), std::string::npos);
  EXPECT_NE(md.find("Ed25519PublicKey"), std::string::npos);  // the offline check
}

TEST(ReportTransparencyTest, AForeignProofAnAlteredRecordOrAnUnknownKeyFails) {
  {
    Evidence e = Build();
    *e.in.proofs[1].mutable_hashes(0) = std::string(64, 'a');  // proof of record 4 altered
    const Json t = BuildReport(e.in).at("audit").at("transparency");
    EXPECT_FALSE(t.GetBool("all_proofs_verified", true));
    EXPECT_FALSE(t.at("inclusion_proofs").elements()[1].GetBool("verified", true));
    EXPECT_TRUE(t.at("inclusion_proofs").elements()[0].GetBool("verified", false));
  }
  {
    Evidence e = Build();
    e.in.proofs[0] = e.in.proofs[1];  // record 4's proof offered for record 2
    EXPECT_FALSE(
        BuildReport(e.in).at("audit").at("transparency").GetBool("all_proofs_verified", true));
  }
  {
    Evidence e = Build();
    e.in.records[2].set_hash(std::string(64, 'b'));  // not the record the tree holds
    std::string error;
    CheckpointCheck cp =
        CheckCheckpointNote(e.in.checkpoint->note(), {e.in.keys[0].verifier_key()});
    ASSERT_TRUE(cp.ok) << cp.error;
    EXPECT_FALSE(CheckInclusion(e.in.records[2], e.in.proofs[2], cp, &error));
    EXPECT_NE(error.find("not in the signed checkpoint"), std::string::npos) << error;
  }
  {
    Evidence e = Build();
    NoteSigner other = *NoteSigner::FromPrivateKeyPem("test/audit", NewKeyPem());
    e.in.keys[0].set_verifier_key(other.verifier().VerifierKey());
    const Json t = BuildReport(e.in).at("audit").at("transparency");
    EXPECT_FALSE(t.GetBool("checkpoint_signature_verified", true));
    EXPECT_NE(t.GetString("checkpoint_error", "").find("unknown key"), std::string::npos);
    EXPECT_FALSE(t.GetBool("all_proofs_verified", true));
  }
}

}  // namespace
}  // namespace lethe::cli
