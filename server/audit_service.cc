#include "server/audit_service.h"

#include "absl/strings/str_cat.h"
#include "common/audit.h"
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

}  // namespace lethe
