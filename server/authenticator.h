// Bearer-token authentication against api_tokens. A verified token is trusted for a short
// time without a lookup (auth_cache_ms) to keep the database off the hot path; revoking
// through this server drops the cached entry at once, revocations made elsewhere apply
// when the entry expires.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/db.h"

namespace lethe {

class Authenticator {
 public:
  Authenticator(DbPool* db, std::chrono::milliseconds cache_ttl) : db_(db), ttl_(cache_ttl) {}

  // `authorization` is the raw metadata value ("Bearer <token>", "" when absent).
  // UNAUTHENTICATED for missing, malformed, unknown or revoked tokens.
  absl::StatusOr<Principal> Authenticate(
      std::string_view authorization,
      std::optional<std::chrono::system_clock::time_point> deadline);

  void Forget(int64_t token_id);

 private:
  struct Entry {
    Principal principal;
    std::string hash;
    std::chrono::steady_clock::time_point expires;
  };
  DbPool* db_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;  // by token hash
};

}  // namespace lethe
