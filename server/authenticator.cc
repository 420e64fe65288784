#include "server/authenticator.h"

#include "common/errors.h"

namespace lethe {

absl::StatusOr<Principal> Authenticator::Authenticate(
    std::string_view authorization, std::optional<std::chrono::system_clock::time_point> deadline) {
  auto token = ParseBearer(authorization);
  if (!token.ok()) return token.status();
  std::string hash = HashTokenSecret(*token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now &&
        ConstantTimeEquals(it->second.hash, hash)) {
      return it->second.principal;
    }
  }
  auto lease = db_->Acquire(deadline);
  if (!lease.ok()) return lease.status();
  Principal p;
  try {
    pqxx::nontransaction tx(lease->conn());
    pqxx::result r = tx.exec_params(
        "SELECT id, name, role, token_sha256, revoked_at IS NOT NULL FROM api_tokens "
        "WHERE token_sha256 = $1",
        hash);
    // The index lookup is by hash of a 256-bit secret; the comparison below is constant
    // time all the same.
    if (r.empty() || !ConstantTimeEquals(r[0][3].as<std::string>(), hash)) {
      return MakeError(absl::StatusCode::kUnauthenticated, "UNKNOWN_TOKEN",
                       "bearer token is not valid");
    }
    if (r[0][4].as<bool>()) {
      return MakeError(absl::StatusCode::kUnauthenticated, "TOKEN_REVOKED",
                       "bearer token has been revoked");
    }
    p.token_id = r[0][0].as<int64_t>();
    p.name = r[0][1].as<std::string>();
    auto role = ParseRole(r[0][2].as<std::string>());
    if (!role.ok()) return absl::InternalError("api_tokens holds an unknown role");
    p.role = *role;
  } catch (const std::exception& e) {
    lease->Discard();
    return StatusFromDbException(e, "authenticate");
  }
  if (ttl_.count() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() > 10000) cache_.clear();
    cache_[hash] = Entry{p, hash, now + ttl_};
  }
  return p;
}

void Authenticator::Forget(int64_t token_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.principal.token_id == token_id) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace lethe
