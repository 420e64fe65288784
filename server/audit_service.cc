#include "server/audit_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/audit.h"
#include "common/audit_tree.h"
#include "common/errors.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "server/proto_convert.h"

namespace lethe {

namespace pb = ::lethe::v1;

absl::StatusOr<pb::ListAuditRecordsResponse> AuditService::List(
    const CallContext& call, const pb::ListAuditRecordsRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnAudit));
  ASSIGN_OR_RETURN(int page_size, ResolvePageSize(req.page_size(), 100, 1000));
  if (!req.request_id().empty() && !IsUuid(req.request_id())) {
    return InvalidField("request_id", "is not a UUID", "INVALID_UUID");
  }
  RETURN_IF_ERROR(CheckText("action", req.action(), TextRule{100, false, false}));
  if (req.after_seq() < 0) {
    return InvalidField("after_seq", absl::StrCat(req.after_seq(), " is negative"), "OUT_OF_RANGE");
  }
  bool all = RoleHas(call.principal.role, Permission::kReadAllAudit);
  std::string request_id = LowercaseUuid(req.request_id());
  if (!all && request_id.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "REQUEST_ID_REQUIRED",
                     absl::StrCat("role ", RoleName(call.principal.role),
                                  " may read audit records only of its own requests: set "
                                  "request_id"),
                     {{"field", "request_id"}});
  }
  std::string fingerprint =
      absl::StrCat("audit|", request_id, "|", req.action(), "|", req.after_seq());
  int64_t after = req.after_seq();
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(Json pos, DecodePageToken(req.page_token(), fingerprint));
    if (!pos.is_int()) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                       "page_token: is not a token issued by this server");
    }
    after = pos.AsInt();
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::ListAuditRecordsResponse out;
  try {
    pqxx::nontransaction tx(lease.conn());
    if (!all) {
      pqxx::result owner = tx.exec_params(
          "SELECT requester_token_id FROM forget_requests WHERE id = $1::uuid", request_id);
      if (owner.empty() || owner[0][0].as<int64_t>() != call.principal.token_id) {
        return MakeError(absl::StatusCode::kPermissionDenied, "NOT_REQUEST_OWNER",
                         absl::StrCat("token \"", call.principal.name,
                                      "\" may only read the audit records of requests it "
                                      "submitted"));
      }
    }
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, action,"
                     " COALESCE(request_id::text, ''), payload::text, prev_hash, hash"
                     " FROM audit_log WHERE seq > $1"
                     " AND ($2 = '' OR request_id = NULLIF($2, '')::uuid)"
                     " AND ($3 = '' OR action = $3) ORDER BY seq LIMIT $4"),
        after, request_id, req.action(), page_size + 1);
    for (size_t i = 0; i < r.size() && int(i) < page_size; ++i) {
      pb::AuditRecord* rec = out.add_records();
      rec->set_seq(r[i][0].as<int64_t>());
      SetTimestamp(r[i][1].as<int64_t>(), rec->mutable_at());
      rec->set_actor(r[i][2].as<std::string>());
      rec->set_action(r[i][3].as<std::string>());
      rec->set_request_id(r[i][4].as<std::string>());
      rec->set_payload_json(r[i][5].as<std::string>());
      rec->set_prev_hash(r[i][6].as<std::string>());
      rec->set_hash(r[i][7].as<std::string>());
    }
    if (int(r.size()) > page_size) {
      out.set_next_page_token(EncodePageToken(Json(out.records(page_size - 1).seq()), fingerprint));
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "list audit records");
  }
  return out;
}

absl::StatusOr<pb::VerifyAuditChainResponse> AuditService::Verify(const CallContext& call) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kVerifyAudit));
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  ASSIGN_OR_RETURN(AuditVerification v, VerifyAuditChain(lease.conn()));
  pb::VerifyAuditChainResponse out;
  out.set_ok(v.ok);
  out.set_records_checked(v.records_checked);
  out.set_first_bad_seq(v.first_bad_seq);
  out.set_reason(v.reason);
  out.set_head_hash(v.head_hash);
  return out;
}

namespace {

void HexList(const std::vector<merkle::Hash>& hashes,
             google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const merkle::Hash& h : hashes) *out->Add() = merkle::ToHex(h);
}

}  // namespace

absl::StatusOr<pb::AuditCheckpoint> AuditService::Checkpoint(const CallContext& call) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnAudit));
  ASSIGN_OR_RETURN(StoredCheckpoint c, checkpoints_->Current(/*force=*/false, call.deadline));
  pb::AuditCheckpoint out;
  out.set_note(c.note);
  out.set_tree_size(c.checkpoint.size);
  out.set_root_hash(merkle::ToHex(c.checkpoint.root));
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, c.checkpoint.time, &t, &err)) {
    out.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  }
  out.set_key_name(c.key_name);
  out.set_key_id(c.key_id);
  return out;
}

absl::StatusOr<pb::ListAuditPublicKeysResponse> AuditService::PublicKeys(const CallContext& call) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnAudit));
  pb::ListAuditPublicKeysResponse out;
  for (size_t i = 0; i < checkpoints_->verifiers().size(); ++i) {
    const NoteVerifier& v = checkpoints_->verifiers()[i];
    pb::AuditPublicKey* k = out.add_keys();
    k->set_key_name(v.name());
    k->set_key_id(v.key_id_hex());
    k->set_verifier_key(v.VerifierKey());
    k->set_public_key_pem(v.PublicKeyPem());
    k->set_signing(i == 0 && checkpoints_->can_sign());
  }
  return out;
}

absl::StatusOr<pb::AuditInclusionProof> AuditService::InclusionProof(
    const CallContext& call, const pb::GetAuditInclusionProofRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnAudit));
  if (req.seq() < 1) {
    return InvalidField("seq", absl::StrCat(req.seq(), " is not a record (records start at 1)"),
                        "OUT_OF_RANGE");
  }
  if (req.tree_size() < 0) {
    return InvalidField("tree_size", absl::StrCat(req.tree_size(), " is negative"), "OUT_OF_RANGE");
  }
  if (req.tree_size() > 0 && req.seq() > req.tree_size()) {
    return InvalidField(
        "seq",
        absl::StrCat("record ", req.seq(), " is not in a tree of ", req.tree_size(), " records"),
        "NOT_IN_TREE");
  }
  const bool all = RoleHas(call.principal.role, Permission::kReadAllAudit);
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::AuditInclusionProof out;
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(lease.conn());
    const int64_t current = AuditTreeSize(tx);
    const int64_t size = req.tree_size() == 0 ? current : req.tree_size();
    if (size > current) {
      return MakeError(
          absl::StatusCode::kOutOfRange, "TREE_SIZE_TOO_LARGE",
          absl::StrCat("tree_size: the audit log has ", current, " records, not ", size),
          {{"field", "tree_size"}});
    }
    if (req.seq() > size) {
      return MakeError(absl::StatusCode::kNotFound, "NOT_IN_TREE",
                       absl::StrCat("record ", req.seq(), " is not in the audit log's tree of ",
                                    size, " records"),
                       {{"field", "seq"}});
    }
    if (!all) {
      pqxx::result owner = tx.exec_params(
          "SELECT f.requester_token_id FROM audit_log a JOIN forget_requests f"
          " ON f.id = a.request_id WHERE a.seq = $1",
          req.seq());
      if (owner.empty() || owner[0][0].as<int64_t>() != call.principal.token_id) {
        return MakeError(absl::StatusCode::kPermissionDenied, "NOT_REQUEST_OWNER",
                         absl::StrCat("token \"", call.principal.name,
                                      "\" may only prove audit records of requests it "
                                      "submitted"));
      }
    }
    ASSIGN_OR_RETURN(AuditProof proof, AuditInclusionProof(tx, req.seq() - 1, size));
    out.set_seq(req.seq());
    out.set_leaf_index(req.seq() - 1);
    out.set_tree_size(size);
    out.set_leaf_hash(merkle::ToHex(proof.leaf_hash));
    HexList(proof.hashes, out.mutable_hashes());
    out.set_root_hash(merkle::ToHex(proof.root));
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "audit inclusion proof");
  }
  return out;
}

absl::StatusOr<pb::AuditConsistencyProof> AuditService::ConsistencyProof(
    const CallContext& call, const pb::GetAuditConsistencyProofRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnAudit));
  if (req.first_size() < 1) {
    return InvalidField("first_size", absl::StrCat(req.first_size(), " is not at least 1"),
                        "OUT_OF_RANGE");
  }
  if (req.second_size() < 0) {
    return InvalidField("second_size", absl::StrCat(req.second_size(), " is negative"),
                        "OUT_OF_RANGE");
  }
  if (req.second_size() > 0 && req.second_size() < req.first_size()) {
    return InvalidField(
        "second_size",
        absl::StrCat(req.second_size(), " is smaller than first_size ", req.first_size()),
        "OUT_OF_RANGE");
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::AuditConsistencyProof out;
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(lease.conn());
    const int64_t current = AuditTreeSize(tx);
    const int64_t second = req.second_size() == 0 ? current : req.second_size();
    if (second > current || req.first_size() > second) {
      return MakeError(absl::StatusCode::kOutOfRange, "TREE_SIZE_TOO_LARGE",
                       absl::StrCat("the audit log has ", current, " records; no proof from ",
                                    req.first_size(), " to ", second,
                                    " records (a checkpoint larger than the log means "
                                    "records were removed from its end)"),
                       {{"field", second > current ? "second_size" : "first_size"}});
    }
    ASSIGN_OR_RETURN(AuditProof proof, AuditConsistencyProof(tx, req.first_size(), second));
    out.set_first_size(req.first_size());
    out.set_second_size(second);
    HexList(proof.hashes, out.mutable_hashes());
    out.set_first_root_hash(merkle::ToHex(proof.first_root));
    out.set_second_root_hash(merkle::ToHex(proof.root));
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "audit consistency proof");
  }
  return out;
}

}  // namespace lethe
