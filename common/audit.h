// The audit log is a hash chain: each record's hash is
//   SHA-256(prev_hash_hex || canonical JSON of {action, actor, at, payload, request_id, seq})
// (lowercase hex; canonical JSON = lethe::Json::Dump(): sorted keys, no spaces, integral
// numbers written as integers), with 64 zeros as the first prev_hash. Editing or deleting
// any row breaks the chain from there on, which VerifyAuditChain reports by naming the
// first bad record.
//
// Appends happen inside the caller's transaction, so a change and its record commit or
// roll back together. Appenders lock the one-row audit_head table (FOR UPDATE), which
// serialises them so seq order and prev_hash links agree; the lock is held until the
// transaction ends, so write the audit records last, just before committing. Batches of
// records cost the same three statements as one. Each record is also a leaf of the
// RFC 9162 Merkle tree (common/audit_tree.h), grown in the same statement. Payloads carry no raw
// personal data (subjects appear only as salted hashes).
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/json.h"

namespace lethe {

inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEntry {
  std::string actor;       // "token:<id>:<name>", "worker:<id>", "server", "cli"
  std::string action;      // "request.received", "model.registered", ...
  std::string request_id;  // forget request UUID, "" when not about one
  Json payload = Json::Object();
};

struct AuditRecord {
  int64_t seq = 0;
  std::string at;  // RFC 3339 UTC with microseconds, as hashed
  std::string actor;
  std::string action;
  std::string request_id;
  Json payload = Json::Object();
  std::string prev_hash;
  std::string hash;
};

// Integral doubles within int64 become integers, recursively: PostgreSQL's jsonb hands
// 1e18 back as 1000000000000000000, and the hash must survive that round trip.
Json NormalizeAuditPayload(const Json& payload);

// The canonical JSON that is hashed (without prev_hash and hash).
std::string CanonicalAuditJson(const AuditRecord& record);
// SHA-256(prev_hash || CanonicalAuditJson(record)) in hex.
std::string ComputeAuditHash(const AuditRecord& record);

// Appends the entries in order inside `tx` and returns them as stored. Throws libpqxx
// exceptions on database errors, like any statement in the caller's transaction.
std::vector<AuditRecord> AppendAuditBatch(pqxx::work& tx, const std::vector<AuditEntry>& entries);
AuditRecord AppendAudit(pqxx::work& tx, const std::string& actor, const std::string& action,
                        const std::string& request_id, const Json& payload);

struct AuditVerification {
  bool ok = true;
  int64_t records_checked = 0;
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;
  std::string head_hash = kGenesisHash;
  std::string tree_root;  // hex RFC 9162 root of all records, set when ok
  int64_t checkpoints_checked = 0;
};

// Walks the whole chain in seq order (in batches), recomputes every hash, checks each
// record's Merkle leaf, that the chain ends where audit_head says it does, that the
// stored subtrees hash to the root of the records and that every stored checkpoint is a
// prefix of the tree (common/audit_tree.h).
absl::StatusOr<AuditVerification> VerifyAuditChain(pqxx::connection& conn);

// SQL expression rendering a timestamptz column exactly like AuditRecord::at.
std::string AuditTimestampSql(const std::string& column);

}  // namespace lethe
