#include "common/audit.h"

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

// pg_advisory_xact_lock key for audit appends ("letheaud").
constexpr int64_t kAuditLockKey = 0x6c65746865617564;

}  // namespace

std::string AuditTimestampSql(const std::string& column) {
  return absl::StrCat("to_char(", column,
                      " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

std::string CanonicalAuditJson(const AuditRecord& record) {
  Json j = Json::Object();
  j["seq"] = record.seq;
  j["at"] = record.at;
  j["actor"] = record.actor;
  j["action"] = record.action;
  j["request_id"] = record.request_id;
  j["payload"] = record.payload;
  return j.Dump();
}

std::string ComputeAuditHash(const AuditRecord& record) {
  Sha256 h;
  h.Update(record.prev_hash);
  h.Update(CanonicalAuditJson(record));
  return h.FinishHex();
}

AuditRecord AppendAudit(pqxx::work& tx, const std::string& actor, const std::string& action,
                        const std::string& request_id, const Json& payload) {
  tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kAuditLockKey, ")"));
  // One round trip: the chain head, the next seq and the (microsecond, UTC) timestamp.
  // The payload is hashed as PostgreSQL's jsonb will hand it back (numbers such as 1e18
  // come back as 1000000000000000000), so verification recomputes the same bytes.
  pqxx::row head = tx.exec_params1(
      absl::StrCat("SELECT (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), "
                   "nextval(pg_get_serial_sequence('audit_log', 'seq')), ",
                   AuditTimestampSql("clock_timestamp()"), ", $1::jsonb::text"),
      (payload.is_null() ? Json::Object() : payload).Dump());
  AuditRecord rec;
  rec.prev_hash = head[0].is_null() ? std::string(kGenesisHash) : head[0].as<std::string>();
  rec.seq = head[1].as<int64_t>();
  rec.at = head[2].as<std::string>();
  rec.actor = actor;
  rec.action = action;
  rec.request_id = request_id;
  rec.payload = Json::Parse(head[3].as<std::string>());
  rec.hash = ComputeAuditHash(rec);
  tx.exec_params(
      "INSERT INTO audit_log (seq, at, actor, action, request_id, payload, prev_hash, hash) "
      "VALUES ($1, $2::timestamptz, $3, $4, NULLIF($5, '')::uuid, $6::jsonb, $7, $8)",
      rec.seq, rec.at, rec.actor, rec.action, rec.request_id, rec.payload.Dump(), rec.prev_hash,
      rec.hash);
  return rec;
}

absl::StatusOr<AuditVerification> VerifyAuditChain(pqxx::connection& conn) {
  AuditVerification out;
  try {
    pqxx::read_transaction tx(conn);
    int64_t after = 0;
    std::string prev = kGenesisHash;
    constexpr int kBatch = 5000;
    while (true) {
      pqxx::result rows = tx.exec_params(
          absl::StrCat("SELECT seq, ", AuditTimestampSql("at"),
                       ", actor, action, COALESCE(request_id::text, ''), payload::text, "
                       "prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
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
        auto fail = [&](const std::string& reason) {
          out.ok = false;
          out.first_bad_seq = rec.seq;
          out.reason = reason;
        };
        try {
          rec.payload = Json::Parse(row[5].as<std::string>());
        } catch (const std::exception& e) {
          fail(absl::StrCat("record ", rec.seq, ": payload is not valid JSON: ", e.what()));
          return out;
        }
        if (rec.prev_hash != prev) {
          fail(absl::StrCat("record ", rec.seq, ": prev_hash ", rec.prev_hash.substr(0, 12),
                            "... does not match the previous record's hash ", prev.substr(0, 12),
                            "... (a record before it was deleted or altered)"));
          return out;
        }
        std::string expected = ComputeAuditHash(rec);
        if (expected != rec.hash) {
          fail(absl::StrCat("record ", rec.seq, ": stored hash ", rec.hash.substr(0, 12),
                            "... does not match the recomputed ", expected.substr(0, 12),
                            "... (the record was altered)"));
          return out;
        }
        prev = rec.hash;
        out.head_hash = rec.hash;
        after = rec.seq;
      }
      if (rows.size() < size_t(kBatch)) break;
    }
    return out;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "verify audit chain");
  }
}

}  // namespace lethe
