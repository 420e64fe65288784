#include "common/audit.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/audit_tree.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/pg_array.h"
#include "engine/base/sha256.h"

namespace lethe {

std::string AuditTimestampSql(const std::string& column) {
  return absl::StrCat("to_char(", column,
                      " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

Json NormalizeAuditPayload(const Json& v) {
  switch (v.type()) {
    case Json::Type::kDouble: {
      double d = v.AsDouble();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
        return Json(int64_t(d));
      }
      return v;
    }
    case Json::Type::kArray: {
      Json out = Json::Array();
      for (const Json& e : v.elements()) out.Push(NormalizeAuditPayload(e));
      return out;
    }
    case Json::Type::kObject: {
      Json out = Json::Object();
      for (const auto& [k, e] : v.items()) out[k] = NormalizeAuditPayload(e);
      return out;
    }
    default:
      return v;
  }
}

std::string CanonicalAuditJson(const AuditRecord& record) {
  Json j = Json::Object();
  j["seq"] = record.seq;
  j["at"] = record.at;
  j["actor"] = record.actor;
  j["action"] = record.action;
  j["request_id"] = record.request_id;
  j["payload"] = NormalizeAuditPayload(record.payload);
  return j.Dump();
}

std::string ComputeAuditHash(const AuditRecord& record) {
  Sha256 h;
  h.Update(record.prev_hash);
  h.Update(CanonicalAuditJson(record));
  return h.FinishHex();
}

std::vector<AuditRecord> AppendAuditBatch(pqxx::work& tx, const std::vector<AuditEntry>& entries) {
  std::vector<AuditRecord> records;
  if (entries.empty()) return records;
  pqxx::row head = tx.exec1("SELECT last_seq, last_hash FROM audit_head FOR UPDATE");
  int64_t seq = head[0].as<int64_t>();
  const int64_t tree_size = seq;
  std::string prev = head[1].as<std::string>();
  std::string at = NowRfc3339();
  std::vector<std::string> seqs, ats, actors, actions, payloads, prevs, hashes;
  std::vector<std::optional<std::string>> request_ids;
  for (const AuditEntry& e : entries) {
    AuditRecord rec;
    rec.seq = ++seq;
    rec.at = at;
    rec.actor = e.actor;
    rec.action = e.action;
    rec.request_id = e.request_id;
    rec.payload = NormalizeAuditPayload(e.payload.is_null() ? Json::Object() : e.payload);
    rec.prev_hash = prev;
    rec.hash = ComputeAuditHash(rec);
    prev = rec.hash;
    seqs.push_back(std::to_string(rec.seq));
    ats.push_back(rec.at);
    actors.push_back(rec.actor);
    actions.push_back(rec.action);
    request_ids.push_back(rec.request_id.empty() ? std::nullopt
                                                 : std::optional<std::string>(rec.request_id));
    payloads.push_back(rec.payload.Dump());
    prevs.push_back(rec.prev_hash);
    hashes.push_back(rec.hash);
    records.push_back(std::move(rec));
  }
  // The Merkle tree grows with the chain: leaves and completed subtrees (common/audit_tree.h).
  AuditTreeRows tree = ExtendAuditTree(tx, tree_size, hashes);
  tx.exec_params(
      "WITH ins AS ("
      "  INSERT INTO audit_log (seq, at, actor, action, request_id, payload, prev_hash, hash)"
      "  SELECT s::bigint, a::timestamptz, ac, act, r::uuid, p::jsonb, ph, h"
      "  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
      "              $7::text[], $8::text[]) AS u(s, a, ac, act, r, p, ph, h)),"
      "tree AS ("
      "  INSERT INTO audit_tree (level, idx, hash)"
      "  SELECT l::smallint, i::bigint, decode(h, 'hex')"
      "  FROM unnest($11::text[], $12::text[], $13::text[]) AS t(l, i, h))"
      "UPDATE audit_head SET last_seq = $9, last_hash = $10",
      PgTextArray(seqs), PgTextArray(ats), PgTextArray(actors), PgTextArray(actions),
      PgTextArray(request_ids), PgTextArray(payloads), PgTextArray(prevs), PgTextArray(hashes),
      records.back().seq, records.back().hash, PgTextArray(tree.levels), PgTextArray(tree.indexes),
      PgTextArray(tree.hashes_hex));
  return records;
}

AuditRecord AppendAudit(pqxx::work& tx, const std::string& actor, const std::string& action,
                        const std::string& request_id, const Json& payload) {
  return AppendAuditBatch(tx, {AuditEntry{actor, action, request_id, payload}}).front();
}

absl::StatusOr<AuditVerification> VerifyAuditChain(pqxx::connection& conn) {
  AuditVerification out;
  try {
    // One snapshot for the walk and the head (repeatable read).
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    int64_t after = 0;
    std::string prev = kGenesisHash;
    merkle::CompactRange tree;
    constexpr int kBatch = 5000;
    while (true) {
      pqxx::result rows = tx.exec_params(
          absl::StrCat("SELECT a.seq, ", AuditTimestampSql("a.at"),
                       ", a.actor, a.action, COALESCE(a.request_id::text, ''), a.payload::text, "
                       "a.prev_hash, a.hash, COALESCE(encode(t.hash, 'hex'), '') FROM audit_log a"
                       " LEFT JOIN audit_tree t ON t.level = 0 AND t.idx = a.seq - 1"
                       " WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"),
          after, kBatch);
      for (const auto& row : rows) {
        AuditRecord rec;
        rec.seq = row[0].as<int64_t>();
        rec.at = row[1].as<std::string>();
        rec.actor = row[2].as<std::string>();
        rec.action = row[3].as<std::string>();
        rec.request_id = row[4].as<std::string>();
        rec.prev_hash = row[6].as<std::string>();
        rec.hash = row[7].as<std::string>();
        ++out.records_checked;
        auto fail = [&](int64_t seq, const std::string& reason) {
          out.ok = false;
          out.first_bad_seq = seq;
          out.reason = reason;
          return out;
        };
        if (rec.seq != after + 1) {
          return fail(after + 1,
                      absl::StrCat("record ", after + 1, " is missing (the chain jumps from ",
                                   after, " to ", rec.seq, ")"));
        }
        try {
          rec.payload = Json::Parse(row[5].as<std::string>());
        } catch (const std::exception& e) {
          return fail(rec.seq,
                      absl::StrCat("record ", rec.seq, ": payload is not valid JSON: ", e.what()));
        }
        if (rec.prev_hash != prev) {
          return fail(rec.seq,
                      absl::StrCat("record ", rec.seq, ": prev_hash ", rec.prev_hash.substr(0, 12),
                                   "... does not match the previous record's hash ",
                                   prev.substr(0, 12), "..."));
        }
        std::string expected = ComputeAuditHash(rec);
        if (expected != rec.hash) {
          return fail(rec.seq,
                      absl::StrCat("record ", rec.seq, ": stored hash ", rec.hash.substr(0, 12),
                                   "... does not match the recomputed hash ",
                                   expected.substr(0, 12), "... (the record was altered)"));
        }
        const merkle::Hash leaf = AuditLeafHash(rec.hash);
        if (row[8].as<std::string>() != merkle::ToHex(leaf)) {
          return fail(rec.seq, absl::StrCat("record ", rec.seq,
                                            ": its Merkle tree leaf is missing or does not "
                                            "match its hash (the record was rewritten)"));
        }
        tree.Append(leaf);
        prev = rec.hash;
        out.head_hash = rec.hash;
        after = rec.seq;
      }
      if (rows.size() < size_t(kBatch)) break;
    }
    pqxx::row head = tx.exec1("SELECT last_seq, last_hash FROM audit_head");
    int64_t head_seq = head[0].as<int64_t>();
    if (head_seq != after || head[1].as<std::string>() != prev) {
      out.ok = false;
      out.first_bad_seq = after + 1;
      out.reason = head_seq > after
                       ? absl::StrCat("records ", after + 1, "..", head_seq,
                                      " are missing (the chain head says ", head_seq, ")")
                       : absl::StrCat("the chain head (seq ", head_seq,
                                      ") does not match the last record (seq ", after, ")");
      return out;
    }
    // The stored subtrees must give the root the records give.
    absl::StatusOr<merkle::Hash> stored_root = AuditTreeRoot(tx, after);
    if (!stored_root.ok() || *stored_root != tree.Root()) {
      out.ok = false;
      out.first_bad_seq = after;
      out.reason = stored_root.ok() ? "the Merkle tree's stored subtrees do not hash to the root "
                                      "of the records (the tree was edited)"
                                    : std::string(stored_root.status().message());
      return out;
    }
    out.tree_root = merkle::ToHex(tree.Root());
    // Every checkpoint this log signed must be a prefix of the tree: a checkpoint larger
    // than the log means records were cut off; another root means history was rewritten.
    for (const auto& row : tx.exec("SELECT min(id), tree_size, encode(root_hash, 'hex') FROM "
                                   "audit_checkpoints GROUP BY tree_size, root_hash "
                                   "ORDER BY tree_size DESC")) {
      const int64_t size = row[1].as<int64_t>();
      ++out.checkpoints_checked;
      if (size > after) {
        out.ok = false;
        out.first_bad_seq = after + 1;
        out.reason =
            absl::StrCat("checkpoint ", row[0].as<int64_t>(), " signed a tree of ", size,
                         " records but the log has ", after, ": records were removed from its end");
        return out;
      }
      absl::StatusOr<merkle::Hash> root = AuditTreeRoot(tx, size);
      if (!root.ok() || merkle::ToHex(*root) != row[2].as<std::string>()) {
        out.ok = false;
        out.first_bad_seq = size;
        out.reason = absl::StrCat("checkpoint ", row[0].as<int64_t>(), " (tree size ", size,
                                  ") does not match the tree: the log was rewritten after it "
                                  "was signed");
        return out;
      }
    }
    return out;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "verify audit chain");
  }
}

}  // namespace lethe
