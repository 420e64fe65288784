// Reading and verifying the audit chain: the logic behind the Audit service.
#pragma once

#include "absl/status/statusor.h"
#include "common/db.h"
#include "lethe/v1/audit.pb.h"
#include "server/call_context.h"

namespace lethe {

class AuditService {
 public:
  explicit AuditService(DbPool* db) : db_(db) {}

  absl::StatusOr<lethe::v1::ListAuditRecordsResponse> List(
      const CallContext& call, const lethe::v1::ListAuditRecordsRequest& req);
  absl::StatusOr<lethe::v1::VerifyAuditChainResponse> Verify(const CallContext& call);

 private:
  DbPool* db_;
};

}  // namespace lethe
