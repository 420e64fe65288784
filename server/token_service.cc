#include "server/token_service.h"

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/errors.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "server/proto_convert.h"

namespace lethe {

namespace pb = ::lethe::v1;

namespace {

constexpr char kTokenColumns[] =
    "id, name, role, (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM revoked_at) * 1000000)::bigint";

pb::ApiToken TokenFromRow(const pqxx::row& row) {
  pb::ApiToken t;
  t.set_id(row[0].as<int64_t>());
  t.set_name(row[1].as<std::string>());
  t.set_role(RoleToProto(row[2].as<std::string>()));
  SetTimestamp(row[3].as<int64_t>(), t.mutable_created_at());
  if (!row[4].is_null()) {
    SetTimestamp(row[4].as<int64_t>(), t.mutable_revoked_at());
    t.set_revoked(true);
  }
  return t;
}

absl::StatusOr<Role> RoleFromProto(pb::Role role) {
  switch (role) {
    case pb::ROLE_DPO:
      return Role::kDpo;
    case pb::ROLE_SERVICE:
      return Role::kService;
    case pb::ROLE_OPERATOR:
      return Role::kOperator;
    case pb::ROLE_ADMIN:
      return Role::kAdmin;
    default:
      return InvalidField("role", "must be DPO, SERVICE, OPERATOR or ADMIN", "INVALID_ROLE");
  }
}

}  // namespace

absl::StatusOr<CreatedToken> CreateTokenInTransaction(pqxx::work& tx, const std::string& name,
                                                      Role role, const std::string& actor) {
  RETURN_IF_ERROR(CheckText("name", name, TextRule{100, true, false}));
  pqxx::result taken =
      tx.exec_params("SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NULL", name);
  if (!taken.empty()) {
    return MakeError(absl::StatusCode::kAlreadyExists, "TOKEN_NAME_TAKEN",
                     absl::StrCat("a live token named \"", name, "\" already exists"),
                     {{"field", "name"}});
  }
  CreatedToken out;
  out.secret = GenerateTokenSecret();
  pqxx::row row = tx.exec_params1(
      absl::StrCat("INSERT INTO api_tokens (name, role, token_sha256) VALUES ($1, $2, $3) "
                   "RETURNING ",
                   kTokenColumns),
      name, RoleName(role), HashTokenSecret(out.secret));
  out.token = TokenFromRow(row);
  Json payload = Json::Object();
  payload["token_id"] = out.token.id();
  payload["name"] = name;
  payload["role"] = RoleName(role);
  AppendAudit(tx, actor, "token.created", "", payload);
  return out;
}

absl::StatusOr<pb::ApiToken> RevokeTokenInTransaction(pqxx::work& tx, int64_t id,
                                                      const std::string& actor) {
  if (id <= 0) return InvalidField("id", absl::StrCat(id, " is not a token id"), "OUT_OF_RANGE");
  pqxx::result r = tx.exec_params(
      absl::StrCat("SELECT ", kTokenColumns, " FROM api_tokens WHERE id = $1 FOR UPDATE"), id);
  if (r.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "TOKEN_NOT_FOUND",
                     absl::StrCat("token ", id, " does not exist"), {{"id", std::to_string(id)}});
  }
  if (!r[0][4].is_null()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "TOKEN_ALREADY_REVOKED",
                     absl::StrCat("token ", id, " is already revoked"),
                     {{"id", std::to_string(id)}});
  }
  pqxx::row row = tx.exec_params1(
      absl::StrCat("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING ",
                   kTokenColumns),
      id);
  pb::ApiToken t = TokenFromRow(row);
  Json payload = Json::Object();
  payload["token_id"] = id;
  payload["name"] = t.name();
  AppendAudit(tx, actor, "token.revoked", "", payload);
  return t;
}

absl::StatusOr<pb::CreateTokenResponse> TokenService::Create(const CallContext& call,
                                                             const pb::CreateTokenRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kManageTokens));
  if (!pb::Role_IsValid(req.role())) {
    return InvalidField("role", absl::StrCat("unknown value ", req.role()), "UNKNOWN_ENUM");
  }
  ASSIGN_OR_RETURN(Role role, RoleFromProto(req.role()));
  RETURN_IF_ERROR(CheckText("name", req.name(), TextRule{100, true, false}));
  CreatedToken created;
  DbPool::TxnOptions opts;
  opts.deadline = call.deadline;
  RETURN_IF_ERROR(db_->Transact(opts, [&](pqxx::work& tx) -> absl::Status {
    ASSIGN_OR_RETURN(created,
                     CreateTokenInTransaction(tx, req.name(), role, call.principal.Actor()));
    return absl::OkStatus();
  }));
  log_->Info("token.created", {{"token_id", created.token.id()},
                               {"role", RoleName(role)},
                               {"actor", call.principal.Actor()}});
  pb::CreateTokenResponse out;
  *out.mutable_token() = created.token;
  out.set_secret(created.secret);
  return out;
}

absl::StatusOr<pb::ApiToken> TokenService::Revoke(const CallContext& call,
                                                  const pb::RevokeTokenRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kManageTokens));
  pb::ApiToken revoked;
  DbPool::TxnOptions opts;
  opts.deadline = call.deadline;
  RETURN_IF_ERROR(db_->Transact(opts, [&](pqxx::work& tx) -> absl::Status {
    ASSIGN_OR_RETURN(revoked, RevokeTokenInTransaction(tx, req.id(), call.principal.Actor()));
    return absl::OkStatus();
  }));
  auth_->Forget(req.id());
  log_->Info("token.revoked", {{"token_id", req.id()}, {"actor", call.principal.Actor()}});
  return revoked;
}

absl::StatusOr<pb::ListTokensResponse> TokenService::List(const CallContext& call,
                                                          const pb::ListTokensRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kManageTokens));
  ASSIGN_OR_RETURN(int page_size, ResolvePageSize(req.page_size(), 100, 1000));
  std::string fingerprint = absl::StrCat("tokens|", req.include_revoked());
  int64_t after = 0;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(Json pos, DecodePageToken(req.page_token(), fingerprint));
    if (!pos.is_int()) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                       "page_token: is not a token issued by this server");
    }
    after = pos.AsInt();
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::ListTokensResponse out;
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r =
        tx.exec_params(absl::StrCat("SELECT ", kTokenColumns,
                                    " FROM api_tokens WHERE id > $1 AND ($2 OR revoked_at IS NULL)"
                                    " ORDER BY id LIMIT $3"),
                       after, req.include_revoked(), page_size + 1);
    for (size_t i = 0; i < r.size() && int(i) < page_size; ++i)
      *out.add_tokens() = TokenFromRow(r[i]);
    if (int(r.size()) > page_size) {
      out.set_next_page_token(EncodePageToken(Json(out.tokens(page_size - 1).id()), fingerprint));
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "list tokens");
  }
  return out;
}

absl::StatusOr<pb::ApiToken> TokenService::WhoAmI(const CallContext& call) {
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r =
        tx.exec_params(absl::StrCat("SELECT ", kTokenColumns, " FROM api_tokens WHERE id = $1"),
                       call.principal.token_id);
    if (r.empty()) return absl::UnauthenticatedError("token no longer exists");
    return TokenFromRow(r[0]);
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "read token");
  }
}

}  // namespace lethe
