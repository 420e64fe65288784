// The audit transparency log through the API, against a real PostgreSQL: signed
// checkpoints, inclusion and consistency proofs, and the attacks the hash chain alone
// misses (the newest records deleted with the head moved back; history rewritten with the
// chain and the tree recomputed) plus forks, unknown keys, key rotation and proofs for
// records that are not in the tree. lethectl's use of the same checks runs in
// tests/e2e/lethectl_e2e.sh.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>

#include "common/audit.h"
#include "common/audit_tree.h"
#include "common/merkle.h"
#include "common/migrations.h"
#include "common/signed_note.h"
#include "common/tlog_checkpoint.h"
#include "engine/base/file_util.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

// An Ed25519 key file as `openssl genpkey -algorithm ed25519 -out PATH` writes it.
std::string NewKey(const std::string& path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new_file(path.c_str(), "w");
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return path;
}

// Its public key as `openssl pkey -in KEY -pubout -out PATH` writes it.
std::string PublicKeyOf(const std::string& key_path, const std::string& out_path) {
  BIO* in = BIO_new_file(key_path.c_str(), "r");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  BIO* out = BIO_new_file(out_path.c_str(), "w");
  EXPECT_EQ(PEM_write_bio_PUBKEY(out, key), 1);
  BIO_free(out);
  EVP_PKEY_free(key);
  return out_path;
}

// The SQL of migrations/0002 that builds the tree from the records (an attacker who
// rewrites history can run it too).
constexpr char kRebuildTreeSql[] = R"sql(
DELETE FROM audit_tree;
INSERT INTO audit_tree (level, idx, hash)
  SELECT 0, seq - 1, sha256('\x00'::bytea || convert_to(hash, 'UTF8')) FROM audit_log;
DO $$
DECLARE lvl integer := 1; added bigint;
BEGIN
  LOOP
    INSERT INTO audit_tree (level, idx, hash)
      SELECT lvl, l.idx / 2, sha256('\x01'::bytea || l.hash || r.hash)
      FROM audit_tree l JOIN audit_tree r ON r.level = l.level AND r.idx = l.idx + 1
      WHERE l.level = lvl - 1 AND l.idx % 2 = 0;
    GET DIAGNOSTICS added = ROW_COUNT;
    EXIT WHEN added = 0;
    lvl := lvl + 1;
  END LOOP;
END $$;
)sql";

struct Opened {
  TlogCheckpoint cp;
  std::string key;  // verifier key that verified it
};

class TransparencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = NewKey(dir_.path() + "/audit-a.pem");
    admin_ = CreateTokenCli(db_.url(), dir_.path(), "admin", "root");
    dpo_ = CreateTokenCli(db_.url(), dir_.path(), "dpo", "dpo-alice");
    dpo2_ = CreateTokenCli(db_.url(), dir_.path(), "dpo", "dpo-bob");
    service_ = CreateTokenCli(db_.url(), dir_.path(), "service", "svc");
    Restart({"--audit-signing-key=" + key_});
    model_ = WriteFakeModel(dir_.path(), "fmnist-fake", 100);
    grpc::Status st = RegisterFakeModel(*models_, admin_, model_);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server log ---\n" << server_->LogTail() << "\n";
  }

  void Restart(std::vector<std::string> args) {
    server_.reset();
    args.push_back("--audit-log-origin=test.example/audit");
    ServerOptions options;
    options.extra_args = args;
    server_ = std::make_unique<ServerProcess>(db_.url(), dir_.path(), options);
    audit_ = pb::Audit::NewStub(server_->channel());
    models_ = pb::Models::NewStub(server_->channel());
    unlearning_ = pb::Unlearning::NewStub(server_->channel());
  }

  std::string SubmitOne(int item) {
    pb::ForgetRequest r;
    auto ctx = Ctx(dpo_);
    grpc::Status st = unlearning_->SubmitForgetRequest(
        ctx.get(), ItemsRequest(model_.name, {"train/" + std::to_string(item)}), &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r.id();
  }

  pb::AuditCheckpoint Checkpoint(grpc::Status* status = nullptr) {
    pb::AuditCheckpoint cp;
    grpc::Status st = audit_->GetAuditCheckpoint(Ctx(dpo_).get(), {}, &cp);
    if (status) {
      *status = st;
    } else {
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    return cp;
  }

  std::vector<NoteVerifier> ServedKeys() {
    pb::ListAuditPublicKeysResponse keys;
    EXPECT_TRUE(audit_->ListAuditPublicKeys(Ctx(dpo_).get(), {}, &keys).ok());
    std::vector<NoteVerifier> out;
    for (const auto& k : keys.keys())
      out.push_back(*NoteVerifier::FromVerifierKey(k.verifier_key()));
    return out;
  }

  // Verifies the note with `keys` and parses it; status on failure.
  absl::StatusOr<TlogCheckpoint> Open(const std::string& note,
                                      const std::vector<NoteVerifier>& keys) {
    absl::StatusOr<SignedNote> n = ParseSignedNote(note);
    if (!n.ok()) return n.status();
    absl::StatusOr<size_t> which = VerifySignedNote(*n, keys);
    if (!which.ok()) return which.status();
    return ParseCheckpointText(n->text);
  }

  // What `lethectl audit verify --since` decides: does the server's log extend `saved`?
  std::string ExtendsCheck(const TlogCheckpoint& saved) {
    grpc::Status st;
    pb::AuditCheckpoint now_pb = Checkpoint(&st);
    if (!st.ok()) return "no checkpoint: " + st.error_message();
    absl::StatusOr<TlogCheckpoint> now = Open(now_pb.note(), ServedKeys());
    if (!now.ok()) return std::string(now.status().message());
    if (now->size < saved.size) return "truncated";
    if (now->size == saved.size) return now->root == saved.root ? "ok" : "fork";
    pb::GetAuditConsistencyProofRequest req;
    req.set_first_size(saved.size);
    req.set_second_size(now->size);
    pb::AuditConsistencyProof proof;
    st = audit_->GetAuditConsistencyProof(Ctx(dpo_).get(), req, &proof);
    if (!st.ok()) return "no proof: " + st.error_message();
    std::vector<merkle::Hash> hashes;
    for (const auto& h : proof.hashes()) hashes.push_back(*merkle::HashFromHex(h));
    return merkle::VerifyConsistency(saved.size, now->size, saved.root, now->root, hashes)
               ? "ok"
               : "rewritten";
  }

  pb::VerifyAuditChainResponse VerifyChain() {
    pb::VerifyAuditChainResponse v;
    EXPECT_TRUE(audit_->VerifyAuditChain(Ctx(admin_).get(), {}, &v).ok());
    return v;
  }

  int64_t Size() { return std::stoll(db_.Query("SELECT last_seq FROM audit_head")); }

  // The attack the chain alone cannot see: the newest `n` records deleted, their tree
  // nodes too, and the head moved back to the record before them.
  void TruncateTail(int n, bool also_checkpoints) {
    const int64_t keep = Size() - n;
    db_.Exec("BEGIN; DELETE FROM audit_log WHERE seq > " + std::to_string(keep) +
             "; DELETE FROM audit_tree WHERE (idx + 1) * (1::bigint << level) > " +
             std::to_string(keep) + "; UPDATE audit_head SET last_seq = " + std::to_string(keep) +
             ", last_hash = (SELECT hash FROM audit_log WHERE seq = " + std::to_string(keep) + ")" +
             (also_checkpoints
                  ? "; DELETE FROM audit_checkpoints WHERE tree_size > " + std::to_string(keep)
                  : std::string()) +
             "; COMMIT");
  }

  // Rewrites record `seq`'s payload and recomputes every hash after it, as someone with
  // database access and Lethe's source would.
  void RewriteRecord(int64_t seq) {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    std::string prev =
        tx.exec_params1("SELECT prev_hash FROM audit_log WHERE seq = $1", seq)[0].as<std::string>();
    pqxx::result rows = tx.exec_params(
        "SELECT seq, " + AuditTimestampSql("at") +
            ", actor, action, COALESCE(request_id::text, ''), payload::text FROM audit_log "
            "WHERE seq >= $1 ORDER BY seq",
        seq);
    for (const auto& row : rows) {
      AuditRecord r;
      r.seq = row[0].as<int64_t>();
      r.at = row[1].as<std::string>();
      r.actor = row[2].as<std::string>();
      r.action = row[3].as<std::string>();
      r.request_id = row[4].as<std::string>();
      r.payload = Json::Parse(row[5].as<std::string>());
      if (r.seq == seq) r.payload["item_count"] = int64_t(99);
      r.prev_hash = prev;
      r.hash = ComputeAuditHash(r);
      tx.exec_params(
          "UPDATE audit_log SET payload = $1::jsonb, prev_hash = $2, hash = $3 "
          "WHERE seq = $4",
          r.payload.Dump(), r.prev_hash, r.hash, r.seq);
      prev = r.hash;
    }
    tx.exec_params("UPDATE audit_head SET last_hash = $1", prev);
    tx.commit();
  }

  TestDatabase db_;
  TempDir dir_;
  std::string key_, admin_, dpo_, dpo2_, service_;
  std::unique_ptr<ServerProcess> server_;
  FakeModel model_;
  std::unique_ptr<pb::Audit::Stub> audit_;
  std::unique_ptr<pb::Models::Stub> models_;
  std::unique_ptr<pb::Unlearning::Stub> unlearning_;
};

TEST_F(TransparencyTest, CheckpointsAndProofsVerifyAgainstThePublishedKey) {
  const std::string id = SubmitOne(1);
  SubmitOne(2);
  pb::AuditCheckpoint cp_pb = Checkpoint();
  // The operator's key file is the trust anchor, not the server's list.
  std::string pub_pem = ReadFile(PublicKeyOf(key_, dir_.path() + "/audit-a.pub"));
  NoteVerifier published = *NoteVerifier::FromPublicKeyPem("test.example/audit", pub_pem);
  absl::StatusOr<TlogCheckpoint> cp = Open(cp_pb.note(), {published});
  ASSERT_TRUE(cp.ok()) << cp.status() << "\n" << cp_pb.note();
  EXPECT_EQ(cp->origin, "test.example/audit");
  EXPECT_EQ(cp->size, Size());
  EXPECT_EQ(cp_pb.tree_size(), cp->size);
  EXPECT_EQ(cp_pb.root_hash(), merkle::ToHex(cp->root));
  EXPECT_EQ(cp_pb.key_id(), published.key_id_hex());
  std::vector<NoteVerifier> served = ServedKeys();
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].public_key(), published.public_key());
  // The checkpoint is stored; asking again without new records returns the same one.
  EXPECT_EQ(Checkpoint().note(), cp_pb.note());
  EXPECT_GE(std::stoll(db_.Query("SELECT count(*) FROM audit_checkpoints")), 1);

  // Every record of the request is proven in the checkpoint from its hash alone.
  pb::ListAuditRecordsRequest list;
  list.set_request_id(id);
  pb::ListAuditRecordsResponse records;
  ASSERT_TRUE(audit_->ListAuditRecords(Ctx(dpo_).get(), list, &records).ok());
  ASSERT_GT(records.records_size(), 0);
  for (const auto& rec : records.records()) {
    pb::GetAuditInclusionProofRequest req;
    req.set_seq(rec.seq());
    req.set_tree_size(cp->size);
    pb::AuditInclusionProof proof;
    ASSERT_TRUE(audit_->GetAuditInclusionProof(Ctx(dpo_).get(), req, &proof).ok());
    std::vector<merkle::Hash> hashes;
    for (const auto& h : proof.hashes()) hashes.push_back(*merkle::HashFromHex(h));
    EXPECT_EQ(proof.leaf_hash(), merkle::ToHex(merkle::HashLeaf(rec.hash())));
    EXPECT_TRUE(merkle::VerifyInclusion(rec.seq() - 1, cp->size, merkle::HashLeaf(rec.hash()),
                                        hashes, cp->root))
        << rec.seq();
  }

  // The log grows; the new checkpoint provably extends the old one.
  for (int i = 3; i < 8; ++i) SubmitOne(i);
  EXPECT_EQ(ExtendsCheck(*cp), "ok");
  pb::VerifyAuditChainResponse v = VerifyChain();
  EXPECT_TRUE(v.ok()) << v.reason();
}

TEST_F(TransparencyTest, TailTruncationWithTheHeadMovedBackIsDetected) {
  for (int i = 1; i <= 4; ++i) SubmitOne(i);
  absl::StatusOr<TlogCheckpoint> saved = Open(Checkpoint().note(), ServedKeys());
  ASSERT_TRUE(saved.ok());

  // The stored checkpoints survive: the server refuses to sign the shorter log and its
  // verification names the cut.
  TruncateTail(2, /*also_checkpoints=*/false);
  grpc::Status st;
  Checkpoint(&st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "AUDIT_LOG_TRUNCATED");
  pb::VerifyAuditChainResponse v = VerifyChain();
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.reason().find("removed from its end"), std::string::npos) << v.reason();

  // The stored checkpoints go too: the chain and the tree look whole to the server, and
  // only a checkpoint kept outside shows the loss.
  TruncateTail(1, /*also_checkpoints=*/true);
  v = VerifyChain();
  EXPECT_TRUE(v.ok()) << v.reason();
  EXPECT_EQ(ExtendsCheck(*saved), "truncated");
  pb::GetAuditConsistencyProofRequest req;
  req.set_first_size(saved->size);
  pb::AuditConsistencyProof proof;
  st = audit_->GetAuditConsistencyProof(Ctx(dpo_).get(), req, &proof);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::OUT_OF_RANGE) << st.error_message();
  // Growing back to the old size does not help: same size, another root.
  while (Size() < saved->size) SubmitOne(50 + int(Size()));
  if (Size() == saved->size) {
    EXPECT_EQ(ExtendsCheck(*saved), "fork");
  }
  SubmitOne(90);
  EXPECT_EQ(ExtendsCheck(*saved), "rewritten");
}

TEST_F(TransparencyTest, ARewrittenRecordIsDetectedEvenWithChainAndTreeRecomputed) {
  for (int i = 1; i <= 5; ++i) SubmitOne(i);
  absl::StatusOr<TlogCheckpoint> saved = Open(Checkpoint().note(), ServedKeys());
  ASSERT_TRUE(saved.ok());
  const int64_t victim = 4;

  // Chain recomputed, tree left alone: the record's leaf no longer matches it.
  RewriteRecord(victim);
  pb::VerifyAuditChainResponse v = VerifyChain();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_seq(), victim);
  EXPECT_NE(v.reason().find("Merkle tree leaf"), std::string::npos) << v.reason();
  // ...and the rewritten record is not in the signed checkpoint.
  pb::GetAuditInclusionProofRequest req;
  req.set_seq(victim);
  req.set_tree_size(saved->size);
  pb::AuditInclusionProof proof;
  ASSERT_TRUE(audit_->GetAuditInclusionProof(Ctx(admin_).get(), req, &proof).ok());
  std::vector<merkle::Hash> hashes;
  for (const auto& h : proof.hashes()) hashes.push_back(*merkle::HashFromHex(h));
  std::string new_hash =
      db_.Query("SELECT hash FROM audit_log WHERE seq = " + std::to_string(victim));
  EXPECT_FALSE(merkle::VerifyInclusion(victim - 1, saved->size, merkle::HashLeaf(new_hash), hashes,
                                       saved->root));

  // Tree rebuilt and the server's checkpoints deleted: the server sees nothing wrong and
  // signs the forged history; the checkpoint kept outside exposes it.
  db_.Exec(kRebuildTreeSql);
  db_.Exec("DELETE FROM audit_checkpoints");
  v = VerifyChain();
  EXPECT_TRUE(v.ok()) << v.reason();
  EXPECT_EQ(ExtendsCheck(*saved), "fork");  // same size, another root
  SubmitOne(20);
  EXPECT_EQ(ExtendsCheck(*saved), "rewritten");
}

TEST_F(TransparencyTest, UnknownKeysFailAndRotatedKeysKeepOldCheckpointsVerifiable) {
  SubmitOne(1);
  const std::string old_note = Checkpoint().note();
  const std::string old_pub = PublicKeyOf(key_, dir_.path() + "/audit-a.pub");
  const std::string new_key = NewKey(dir_.path() + "/audit-b.pem");

  // A new key only: the old checkpoint is signed by a key this server does not list.
  Restart({"--audit-signing-key=" + new_key});
  absl::StatusOr<TlogCheckpoint> opened = Open(old_note, ServedKeys());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(opened.status().message().find("unknown key"), std::string::npos) << opened.status();

  // A rotation keeps the old public key for verification.
  Restart({"--audit-signing-key=" + new_key, "--audit-verify-keys=" + old_pub});
  std::vector<NoteVerifier> keys = ServedKeys();
  ASSERT_EQ(keys.size(), 2u);
  opened = Open(old_note, keys);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SubmitOne(2);
  pb::AuditCheckpoint now = Checkpoint();
  EXPECT_EQ(now.key_id(), keys[0].key_id_hex());
  EXPECT_NE(now.key_id(), keys[1].key_id_hex());
  EXPECT_EQ(ExtendsCheck(*opened), "ok");
  // A note with an altered size fails its signature.
  std::string forged = old_note;
  forged.replace(forged.find('\n') + 1, 1, "9");
  EXPECT_EQ(Open(forged, keys).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TransparencyTest, ProofsForRecordsNotInTheTreeAndRoleRules) {
  const std::string mine = SubmitOne(1);
  const int64_t size = Size();
  auto proof = [&](const std::string& token, int64_t seq, int64_t tree_size,
                   pb::AuditInclusionProof* out = nullptr) {
    pb::GetAuditInclusionProofRequest req;
    req.set_seq(seq);
    req.set_tree_size(tree_size);
    pb::AuditInclusionProof p;
    grpc::Status st = audit_->GetAuditInclusionProof(Ctx(token).get(), req, &p);
    if (out) *out = p;
    return st;
  };
  EXPECT_EQ(proof(admin_, 0, 0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status st = proof(admin_, size + 1, 0);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("not in the audit log's tree of " + std::to_string(size)),
            std::string::npos)
      << st.error_message();
  EXPECT_EQ(proof(admin_, 3, 2).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(proof(admin_, 1, size + 5).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(proof(admin_, 1, -1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A valid proof of one record proves nothing about another.
  pb::AuditInclusionProof p;
  ASSERT_TRUE(proof(admin_, 1, size, &p).ok());
  std::vector<merkle::Hash> hashes;
  for (const auto& h : p.hashes()) hashes.push_back(*merkle::HashFromHex(h));
  merkle::Hash root = *merkle::HashFromHex(p.root_hash());
  std::string h1 = db_.Query("SELECT hash FROM audit_log WHERE seq = 1");
  std::string h2 = db_.Query("SELECT hash FROM audit_log WHERE seq = 2");
  EXPECT_TRUE(merkle::VerifyInclusion(0, size, merkle::HashLeaf(h1), hashes, root));
  EXPECT_FALSE(merkle::VerifyInclusion(0, size, merkle::HashLeaf(h2), hashes, root));
  EXPECT_FALSE(merkle::VerifyInclusion(1, size, merkle::HashLeaf(h2), hashes, root));

  // Roles: a DPO proves only its own requests' records; a service token reads no audit.
  const std::string my_seq =
      db_.Query("SELECT min(seq) FROM audit_log WHERE request_id = '" + mine + "'");
  EXPECT_TRUE(proof(dpo_, std::stoll(my_seq), 0).ok());
  st = proof(dpo2_, std::stoll(my_seq), 0);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf(st).reason(), "NOT_REQUEST_OWNER");
  EXPECT_EQ(proof(dpo_, 1, 0).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // model.registered
  EXPECT_EQ(proof(service_, std::stoll(my_seq), 0).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::AuditCheckpoint cp;
  EXPECT_EQ(audit_->GetAuditCheckpoint(Ctx(service_).get(), {}, &cp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  pb::GetAuditConsistencyProofRequest creq;
  pb::AuditConsistencyProof cproof;
  creq.set_first_size(0);
  EXPECT_EQ(audit_->GetAuditConsistencyProof(Ctx(dpo_).get(), creq, &cproof).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  creq.set_first_size(2);
  creq.set_second_size(1);
  EXPECT_EQ(audit_->GetAuditConsistencyProof(Ctx(dpo_).get(), creq, &cproof).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Checkpoints asked for while the log grows: every one is signed (none is refused as a
// "truncation" by a race with another signer) and each extends the one before.
TEST_F(TransparencyTest, ConcurrentCheckpointsWhileTheLogGrowsAreAllConsistent) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 15; ++i) SubmitOne(10 + i);
    done = true;
  });
  std::vector<std::thread> readers;
  std::mutex mu;
  std::vector<std::string> notes, errors;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        pb::AuditCheckpoint cp;
        grpc::Status st = audit_->GetAuditCheckpoint(Ctx(dpo_).get(), {}, &cp);
        std::lock_guard<std::mutex> lock(mu);
        if (st.ok()) {
          notes.push_back(cp.note());
        } else {
          errors.push_back(st.error_message());
        }
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_FALSE(notes.empty());
  std::vector<NoteVerifier> keys = ServedKeys();
  for (const std::string& note : notes) {
    absl::StatusOr<TlogCheckpoint> cp = Open(note, keys);
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_EQ(ExtendsCheck(*cp), "ok") << cp->size;
  }
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(TransparencyTest, TheServerSignsOnItsOwnAfterARequestFinishes) {
  Restart({"--audit-signing-key=" + key_, "--audit-checkpoint-poll-s=1"});
  const std::string id = SubmitOne(1);
  pb::CancelForgetRequestRequest cancel;
  cancel.set_id(id);

  pb::ForgetRequest r;
  ASSERT_TRUE(unlearning_->CancelForgetRequest(Ctx(dpo_).get(), cancel, &r).ok());
  const int64_t size = Size();
  std::string covered;
  for (int i = 0; i < 100; ++i) {
    covered = db_.Query("SELECT count(*) FROM audit_checkpoints WHERE tree_size >= " +
                        std::to_string(size));
    if (covered != "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(covered, "0") << "no checkpoint covers the cancellation";
  std::string metrics = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("lethe_audit_checkpoint_age_seconds"), std::string::npos);
  EXPECT_NE(metrics.find("lethe_audit_checkpoints_total{result=\"signed\"}"), std::string::npos);
}

TEST_F(ServiceTest, AuditCheckpointsNeedASigningKeyButProofsDoNot) {
  pb::AuditCheckpoint cp;
  grpc::Status st = s_->audit->GetAuditCheckpoint(Ctx(s_->op).get(), {}, &cp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DetailOf(st).reason(), "AUDIT_SIGNING_DISABLED");
  EXPECT_NE(st.error_message().find("--audit-signing-key"), std::string::npos);
  pb::ListAuditPublicKeysResponse keys;
  ASSERT_TRUE(s_->audit->ListAuditPublicKeys(Ctx(s_->op).get(), {}, &keys).ok());
  EXPECT_EQ(keys.keys_size(), 0);
  pb::GetAuditInclusionProofRequest req;
  req.set_seq(1);
  pb::AuditInclusionProof proof;
  ASSERT_TRUE(s_->audit->GetAuditInclusionProof(Ctx(s_->op).get(), req, &proof).ok());
  EXPECT_EQ(proof.leaf_index(), 0);
}

// Migration 0002 on a log written before it: every record becomes a leaf, hashes stay.
TEST(MigrationsTest, TheTransparencyMigrationBuildsTheTreeOverExistingRecords) {
  TestDatabase db;
  pqxx::connection c(db.url());
  const std::vector<Migration>& all = EmbeddedMigrations();
  ASSERT_GE(all.size(), 2u);
  ASSERT_TRUE(ApplyMigrations(c, {all[0]}, nullptr).ok());
  std::vector<merkle::Hash> leaves;
  std::string prev = kGenesisHash;
  {
    pqxx::work tx(c);
    for (int i = 1; i <= 37; ++i) {  // not a power of two: a ragged right edge
      AuditRecord r;
      r.seq = i;
      r.at = "2024-05-01T12:00:00.000001Z";
      r.actor = "server";
      r.action = "test.record";
      r.payload["i"] = int64_t(i);
      r.prev_hash = prev;
      r.hash = ComputeAuditHash(r);
      tx.exec_params(
          "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
          "VALUES ($1, $2::timestamptz, $3, $4, $5::jsonb, $6, $7)",
          r.seq, r.at, r.actor, r.action, r.payload.Dump(), r.prev_hash, r.hash);
      leaves.push_back(AuditLeafHash(r.hash));
      prev = r.hash;
    }
    tx.exec_params("UPDATE audit_head SET last_seq = 37, last_hash = $1", prev);
    tx.commit();
  }
  absl::StatusOr<MigrationReport> report = ApplyMigrations(c, all, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->latest_version, int(all.size()));
  {
    pqxx::work tx(c);
    EXPECT_EQ(tx.exec1("SELECT hash FROM audit_log WHERE seq = 37")[0].as<std::string>(), prev);
    absl::StatusOr<merkle::Hash> root = AuditTreeRoot(tx, 37);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, merkle::RootOfLeaves(leaves, 0, leaves.size()));
    // Appends continue the tree from the migrated edge.
    AppendAudit(tx, "server", "test.after", "", Json::Object());
    leaves.push_back(
        AuditLeafHash(tx.exec1("SELECT hash FROM audit_log WHERE seq = 38")[0].as<std::string>()));
    EXPECT_EQ(*AuditTreeRoot(tx, 38), merkle::RootOfLeaves(leaves, 0, leaves.size()));
    tx.commit();
  }
  absl::StatusOr<AuditVerification> v = VerifyAuditChain(c);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_EQ(v->records_checked, 38);
}

}  // namespace
}  // namespace lethe::testing
