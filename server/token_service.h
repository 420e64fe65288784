// API tokens: the logic behind the Tokens service, and the token creation that
// `lethe-server token create` uses to bootstrap the first admin.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "lethe/v1/tokens.pb.h"
#include "server/authenticator.h"
#include "server/call_context.h"

namespace lethe {

struct CreatedToken {
  lethe::v1::ApiToken token;
  std::string secret;  // shown once
};

// Inserts a token and its audit record in `tx`. ALREADY_EXISTS when a live token has the
// name; INVALID_ARGUMENT for a bad name.
absl::StatusOr<CreatedToken> CreateTokenInTransaction(pqxx::work& tx, const std::string& name,
                                                      Role role, const std::string& actor);
// Revokes in `tx`; NOT_FOUND / FAILED_PRECONDITION (already revoked).
absl::StatusOr<lethe::v1::ApiToken> RevokeTokenInTransaction(pqxx::work& tx, int64_t id,
                                                             const std::string& actor);

class TokenService {
 public:
  TokenService(DbPool* db, Authenticator* auth, Logger* log) : db_(db), auth_(auth), log_(log) {}

  absl::StatusOr<lethe::v1::CreateTokenResponse> Create(const CallContext& call,
                                                        const lethe::v1::CreateTokenRequest& req);
  absl::StatusOr<lethe::v1::ApiToken> Revoke(const CallContext& call,
                                             const lethe::v1::RevokeTokenRequest& req);
  absl::StatusOr<lethe::v1::ListTokensResponse> List(const CallContext& call,
                                                     const lethe::v1::ListTokensRequest& req);
  absl::StatusOr<lethe::v1::ApiToken> WhoAmI(const CallContext& call);

 private:
  DbPool* db_;
  Authenticator* auth_;
  Logger* log_;
};

}  // namespace lethe
