// The verification report of one forget request (`lethectl audit export`): a self-contained
// document a data-protection officer can hand over. It states what was asked (the request,
// its items by id and content hash only), what was done (metrics before and after with the
// thresholds, whether the destination was reached, the model versions involved) and the
// evidence (the request's audit records with the canonical JSON each hash covers, so anyone
// can recompute SHA-256(prev_hash || canonical_json) without Lethe's code), plus the
// transparency-log evidence: the server's signed checkpoint, its public keys and an RFC
// 9162 inclusion proof of every record in that checkpoint, all checked here and checkable
// offline with hashlib and python3-cryptography (docs/examples/verify_export.py).
//
// Building the report is pure: the caller fetches the pieces and writes the files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/base/json.h"
#include "lethe/v1/audit.pb.h"
#include "lethe/v1/models.pb.h"
#include "lethe/v1/unlearning.pb.h"

namespace lethe::cli {

inline constexpr char kReportFormat[] = "lethe.verification-report/v1";

// The bytes an audit record's hash covers, and whether the record's hash matches them.
struct AuditRecordCheck {
  std::string canonical_json;   // {action, actor, at, payload, request_id, seq}, sorted, compact
  std::string recomputed_hash;  // SHA-256(prev_hash || canonical_json), hex
  bool hash_matches = false;
  std::string error;  // e.g. payload_json that does not parse
};
AuditRecordCheck CheckAuditRecord(const lethe::v1::AuditRecord& record);

struct ReportInputs {
  std::string generated_at;  // RFC 3339
  std::string server;
  lethe::v1::ForgetRequest request;
  std::optional<lethe::v1::Model> model;  // with versions; nullopt when it could not be read
  std::string model_error;
  std::vector<lethe::v1::AuditRecord> records;               // the request's records, ascending seq
  std::optional<lethe::v1::VerifyAuditChainResponse> chain;  // whole-chain verification
  std::string chain_error;                                   // why `chain` is missing
  std::string grid_file;                                     // "grid.png" when written, else ""
  std::string grid_sha256;
  int64_t grid_version_id = 0;
  std::string grid_note;  // why there is no grid
  // Transparency log: the checkpoint the proofs lead to, the keys that may sign it and one
  // inclusion proof per record (parallel to `records`).
  std::optional<lethe::v1::AuditCheckpoint> checkpoint;
  std::string checkpoint_error;  // why `checkpoint` is missing
  std::vector<lethe::v1::AuditPublicKey> keys;
  std::vector<lethe::v1::AuditInclusionProof> proofs;
};

// The result of checking a signed checkpoint against keys: the parsed checkpoint when the
// signature verifies, else the reason.
struct CheckpointCheck {
  bool ok = false;
  std::string error;
  int64_t tree_size = 0;
  std::string root;  // 32 raw bytes
  std::string origin;
  std::string time;
  std::string key;  // "name+keyid" of the verifying key
};
CheckpointCheck CheckCheckpointNote(const std::string& note,
                                    const std::vector<std::string>& verifier_keys);
// Whether `proof` shows `record` (its hash as leaf data) in the checked checkpoint.
bool CheckInclusion(const lethe::v1::AuditRecord& record,
                    const lethe::v1::AuditInclusionProof& proof, const CheckpointCheck& checkpoint,
                    std::string* error);

// report.json's document.
Json BuildReport(const ReportInputs& inputs);
// report.md, rendered from BuildReport's document alone.
std::string RenderReportMarkdown(const Json& report);

}  // namespace lethe::cli
