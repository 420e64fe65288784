// Costs of the audit transparency log at scale, against a real PostgreSQL: the migration's
// backfill of a 10^6-record log, the cost per appended record (hash chain + Merkle tree),
// signing a checkpoint, inclusion and consistency proofs (latency and size) at 10^6
// records, and C++ proof verification. It finally writes a real verification report (the
// client's own report code, eight records appended after the 10^6 synthetic ones, proven
// in a signed checkpoint) for bench/audit_transparency.sh to time the offline Python check.
// Prints one JSON object.
//   audit_transparency_bench --database-url URL (a server where it may create a database)
//                            [--records 1000000] [--report-dir DIR]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <random>

#include "absl/strings/str_cat.h"
#include "client/report.h"
#include "common/audit.h"
#include "common/audit_tree.h"
#include "common/db.h"
#include "common/flag_set.h"
#include "common/merkle.h"
#include "common/migrations.h"
#include "engine/base/file_util.h"
#include "server/audit_checkpointer.h"
#include "server/proto_convert.h"

namespace lethe {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string DatabaseUrl(const std::string& base, const std::string& db) {
  std::string url = base, query;
  if (size_t q = url.find('?'); q != std::string::npos) {
    query = url.substr(q);
    url = url.substr(0, q);
  }
  return url.substr(0, url.rfind('/') + 1) + db + query;
}

int Run(int argc, char** argv) {
  std::string base_url, report_dir = "/tmp/lethe-audit-bench-report";
  int64_t n = 1000000;
  FlagSet flags("audit_transparency_bench");
  flags.AddString("database-url", "LETHE_TEST_DATABASE_URL", &base_url, "PostgreSQL URL");
  flags.AddInt("records", "", &n, "synthetic records before the measurements");
  flags.AddString("report-dir", "", &report_dir, "where to write the sample report");
  std::vector<std::string> positional;
  if (absl::Status s = flags.Parse(std::vector<std::string>(argv + 1, argv + argc), &positional);
      !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 2;
  }
  const std::string db = absl::StrCat("lethe_audit_bench_", ::getpid());
  {
    pqxx::connection admin(base_url);
    pqxx::nontransaction(admin).exec("CREATE DATABASE " + db);
  }
  const std::string url = DatabaseUrl(base_url, db);
  Json out = Json::Object();
  out["records"] = n;
  {
    pqxx::connection c(url);
    const std::vector<Migration>& all = EmbeddedMigrations();
    if (!ApplyMigrations(c, {all[0]}, nullptr).ok()) return 1;
    // A log of n records written before the transparency migration (synthetic hashes).
    auto t = Clock::now();
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
        "SELECT i, now(), 'bench', 'bench.record', '{}', "
        "encode(sha256(convert_to((i - 1)::text, 'UTF8')), 'hex'), "
        "encode(sha256(convert_to(i::text, 'UTF8')), 'hex') FROM generate_series(1, $1) i",
        n);
    tx.exec_params(
        "UPDATE audit_head SET last_seq = $1::bigint, last_hash = "
        "encode(sha256(convert_to($1::bigint::text, "
        "'UTF8')), 'hex')",
        n);
    tx.commit();
    out["synthetic_insert_seconds"] = Since(t);
    t = Clock::now();
    absl::StatusOr<MigrationReport> m = ApplyMigrations(c, all, nullptr);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", std::string(m.status().message()).c_str());
      return 1;
    }
    out["migration_backfill_seconds"] = Since(t);
    out["tree_rows"] = int64_t(std::stoll(
        pqxx::nontransaction(c).exec1("SELECT count(*) FROM audit_tree")[0].as<std::string>()));
    out["tree_bytes"] =
        int64_t(std::stoll(pqxx::nontransaction(c)
                               .exec1("SELECT pg_total_relation_size('audit_tree')")[0]
                               .as<std::string>()));
  }

  DbOptions o;
  o.url = url;
  o.pool_size = 2;
  auto pool = DbPool::Create(o);
  if (!pool.ok()) return 1;
  Logger log("bench", LogLevel::kError);
  ServerMetrics metrics;
  std::string key = report_dir + ".key.pem";
  if (std::system(("openssl genpkey -algorithm ed25519 -out " + key).c_str()) != 0) return 1;
  AuditCheckpointer::Options co;
  co.origin = "bench.example/audit";
  co.signing_key_path = key;
  auto checkpointer = AuditCheckpointer::Create(pool->get(), co, &metrics, &log);
  if (!checkpointer.ok()) return 1;

  // Appends at ~n records: one record per transaction, and batches of 10.
  {
    pqxx::connection c(url);
    for (int batch : {1, 10}) {
      const int txns = batch == 1 ? 2000 : 200;
      auto t = Clock::now();
      for (int i = 0; i < txns; ++i) {
        pqxx::work tx(c);
        std::vector<AuditEntry> entries(size_t(batch),
                                        AuditEntry{"bench", "bench.append", "", Json::Object()});
        AppendAuditBatch(tx, entries);
        tx.commit();
      }
      out[absl::StrCat("append_us_per_record_batch_", batch)] =
          Since(t) / double(txns * batch) * 1e6;
    }
    // The tree's share: reading the edge and hashing, without the write.
    pqxx::work tx(c);
    const int64_t size = AuditTreeSize(tx);
    std::vector<std::string> one = {std::string(64, 'a')};
    auto t = Clock::now();
    for (int i = 0; i < 2000; ++i) ExtendAuditTree(tx, size, one);
    out["tree_extend_us_per_record"] = Since(t) / 2000 * 1e6;
  }

  // Checkpoints at ~n records.
  {
    auto t = Clock::now();
    const int k = 100;
    for (int i = 0; i < k; ++i) {
      if (!(*checkpointer)->Current(/*force=*/true).ok()) return 1;
    }
    out["checkpoint_ms"] = Since(t) / k * 1e3;
  }

  // Proofs at ~n records.
  {
    pqxx::connection c(url);
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    const int64_t size = AuditTreeSize(tx);
    const merkle::Hash root = *AuditTreeRoot(tx, size);
    std::mt19937_64 rng(42);
    const int k = 1000;
    size_t min_len = 1000, max_len = 0, total = 0;
    double verify_s = 0;
    auto t = Clock::now();
    for (int i = 0; i < k; ++i) {
      const int64_t index = int64_t(rng() % uint64_t(size));
      absl::StatusOr<AuditProof> p = AuditInclusionProof(tx, index, size);
      if (!p.ok()) return 1;
      min_len = std::min(min_len, p->hashes.size());
      max_len = std::max(max_len, p->hashes.size());
      total += p->hashes.size();
      auto v = Clock::now();
      if (!merkle::VerifyInclusion(index, size, p->leaf_hash, p->hashes, root)) return 1;
      verify_s += Since(v);
    }
    out["tree_size"] = size;
    out["inclusion_proof_ms"] = Since(t) / k * 1e3;
    out["inclusion_proof_hashes_min"] = int64_t(min_len);
    out["inclusion_proof_hashes_max"] = int64_t(max_len);
    out["inclusion_proof_hashes_mean"] = double(total) / k;
    out["inclusion_proof_bytes_max"] = int64_t(max_len * merkle::kHashSize);
    out["inclusion_verify_us"] = verify_s / k * 1e6;
    min_len = 1000, max_len = 0, total = 0;
    t = Clock::now();
    for (int i = 0; i < k; ++i) {
      const int64_t first = 1 + int64_t(rng() % uint64_t(size - 1));
      absl::StatusOr<AuditProof> p = AuditConsistencyProof(tx, first, size);
      if (!p.ok()) return 1;
      min_len = std::min(min_len, p->hashes.size());
      max_len = std::max(max_len, p->hashes.size());
      total += p->hashes.size();
      if (!merkle::VerifyConsistency(first, size, p->first_root, p->root, p->hashes)) return 1;
    }
    out["consistency_proof_ms"] = Since(t) / k * 1e3;
    out["consistency_proof_hashes_min"] = int64_t(min_len);
    out["consistency_proof_hashes_max"] = int64_t(max_len);
    out["consistency_proof_hashes_mean"] = double(total) / k;
    out["consistency_proof_bytes_max"] = int64_t(max_len * merkle::kHashSize);
  }

  // A real report: eight records of one request appended to the log, proven in a fresh
  // signed checkpoint, rendered by the client's report code.
  {
    const std::string request_id = "11111111-2222-4333-8444-555555555555";
    pqxx::connection c(url);
    {
      pqxx::work tx(c);
      std::vector<AuditEntry> entries;
      for (int i = 0; i < 8; ++i) {
        Json p = Json::Object();
        p["step"] = int64_t(i);
        entries.push_back({"worker:bench", "request.step", request_id, p});
      }
      AppendAuditBatch(tx, entries);
      tx.commit();
    }
    absl::StatusOr<StoredCheckpoint> cp = (*checkpointer)->Current(/*force=*/false);
    if (!cp.ok()) return 1;
    cli::ReportInputs in;
    in.generated_at = "bench";
    in.request.set_id(request_id);
    lethe::v1::AuditCheckpoint cp_pb;
    cp_pb.set_note(cp->note);
    cp_pb.set_tree_size(cp->checkpoint.size);
    in.checkpoint = cp_pb;
    lethe::v1::AuditPublicKey k;
    k.set_verifier_key((*checkpointer)->verifiers()[0].VerifierKey());
    in.keys.push_back(k);
    pqxx::work tx(c);
    for (const auto& row :
         tx.exec_params("SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, action, "
                        "request_id::text, payload::text, prev_hash, hash FROM audit_log "
                        "WHERE request_id = $1::uuid ORDER BY seq",
                        request_id)) {
      lethe::v1::AuditRecord r;
      r.set_seq(row[0].as<int64_t>());
      SetTimestamp(row[1].as<int64_t>(), r.mutable_at());
      r.set_actor(row[2].as<std::string>());
      r.set_action(row[3].as<std::string>());
      r.set_request_id(row[4].as<std::string>());
      r.set_payload_json(row[5].as<std::string>());
      r.set_prev_hash(row[6].as<std::string>());
      r.set_hash(row[7].as<std::string>());
      absl::StatusOr<AuditProof> p = AuditInclusionProof(tx, r.seq() - 1, cp->checkpoint.size);
      if (!p.ok()) return 1;
      lethe::v1::AuditInclusionProof proof;
      proof.set_seq(r.seq());
      proof.set_leaf_index(r.seq() - 1);
      proof.set_tree_size(cp->checkpoint.size);
      proof.set_leaf_hash(merkle::ToHex(p->leaf_hash));
      for (const merkle::Hash& h : p->hashes) proof.add_hashes(merkle::ToHex(h));
      in.records.push_back(r);
      in.proofs.push_back(proof);
    }
    Json report = cli::BuildReport(in);
    out["report_proofs_verified_in_cpp"] =
        report.at("audit").at("transparency").GetBool("all_proofs_verified", false);
    MakeDirs(report_dir);
    WriteFileAtomic(JoinPath(report_dir, "report.json"), report.Dump(2) + "\n");
    WriteFileAtomic(JoinPath(report_dir, "keys.txt"), k.verifier_key() + "\n");
    out["report_dir"] = report_dir;
    out["report_records"] = int64_t(in.records.size());
  }
  // Baseline: the append as it was before the tree (head lock, one statement for records
  // and head), one record per transaction. Last, because it leaves records without leaves.
  {
    pqxx::connection c(url);
    const int txns = 2000;
    auto t = Clock::now();
    for (int i = 0; i < txns; ++i) {
      pqxx::work tx(c);
      pqxx::row head = tx.exec1("SELECT last_seq, last_hash FROM audit_head FOR UPDATE");
      AuditRecord r;
      r.seq = head[0].as<int64_t>() + 1;
      r.at = "2026-01-01T00:00:00.000000Z";
      r.actor = "bench";
      r.action = "bench.append";
      r.prev_hash = head[1].as<std::string>();
      r.hash = ComputeAuditHash(r);
      tx.exec_params(
          "WITH ins AS (INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash)"
          " VALUES ($1, $2::timestamptz, $3, $4, '{}', $5, $6))"
          " UPDATE audit_head SET last_seq = $1, last_hash = $6",
          r.seq, r.at, r.actor, r.action, r.prev_hash, r.hash);
      tx.commit();
    }
    out["append_us_per_record_batch_1_chain_only"] = Since(t) / txns * 1e6;
  }
  pool->reset();
  {
    pqxx::connection admin(base_url);
    pqxx::nontransaction(admin).exec("DROP DATABASE " + db + " WITH (FORCE)");
  }
  std::printf("%s\n", out.Dump(2).c_str());
  return 0;
}

}  // namespace
}  // namespace lethe

int main(int argc, char** argv) { return lethe::Run(argc, argv); }
