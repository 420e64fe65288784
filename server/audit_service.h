// Reading and verifying the audit chain, and the transparency log's checkpoints, keys and
// proofs: the logic behind the Audit service.
#pragma once

#include "absl/status/statusor.h"
#include "common/db.h"
#include "lethe/v1/audit.pb.h"
#include "server/audit_checkpointer.h"
#include "server/call_context.h"

namespace lethe {

class AuditService {
 public:
  AuditService(DbPool* db, AuditCheckpointer* checkpoints) : db_(db), checkpoints_(checkpoints) {}

  absl::StatusOr<lethe::v1::ListAuditRecordsResponse> List(
      const CallContext& call, const lethe::v1::ListAuditRecordsRequest& req);
  absl::StatusOr<lethe::v1::VerifyAuditChainResponse> Verify(const CallContext& call);
  absl::StatusOr<lethe::v1::AuditCheckpoint> Checkpoint(const CallContext& call);
  absl::StatusOr<lethe::v1::ListAuditPublicKeysResponse> PublicKeys(const CallContext& call);
  absl::StatusOr<lethe::v1::AuditInclusionProof> InclusionProof(
      const CallContext& call, const lethe::v1::GetAuditInclusionProofRequest& req);
  absl::StatusOr<lethe::v1::AuditConsistencyProof> ConsistencyProof(
      const CallContext& call, const lethe::v1::GetAuditConsistencyProofRequest& req);

 private:
  DbPool* db_;
  AuditCheckpointer* checkpoints_;
};

}  // namespace lethe
