// The verification report of one forget request (`lethectl audit export`): a self-contained
// document a data-protection officer can hand over. It states what was asked (the request,
// its items by id and content hash only), what was done (metrics before and after with the
// thresholds, whether the destination was reached, the model versions involved) and the
// evidence (the request's audit records with the canonical JSON each hash covers, so anyone
// can recompute SHA-256(prev_hash || canonical_json) without Lethe's code).
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
};

// report.json's document.
Json BuildReport(const ReportInputs& inputs);
// report.md, rendered from BuildReport's document alone.
std::string RenderReportMarkdown(const Json& report);

}  // namespace lethe::cli
