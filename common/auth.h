// Authentication and authorisation rules, free of I/O: roles, what each role may do,
// bearer-token parsing, token secrets and their hashes. Tokens are random 256-bit secrets;
// only their SHA-256 is stored, and hashes are compared in constant time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lethe {

enum class Role { kDpo, kService, kOperator, kAdmin };

// "dpo", "service", "operator", "admin".
const char* RoleName(Role role);
absl::StatusOr<Role> ParseRole(std::string_view name);

// The authenticated caller.
struct Principal {
  int64_t token_id = 0;
  std::string name;
  Role role = Role::kService;
  // How the caller appears in the audit log: "token:<id>:<name>".
  std::string Actor() const;
};

enum class Permission {
  kSubmitRequest,
  kReadOwnRequests,
  kReadAllRequests,
  kCancelOwnRequests,
  kCancelAllRequests,
  kExtendDeadline,
  kReadModels,
  kRegisterModel,
  kReadOwnAudit,
  kReadAllAudit,
  kVerifyAudit,
  kManageTokens,
};

const char* PermissionName(Permission permission);
bool RoleHas(Role role, Permission permission);
// OK, or PERMISSION_DENIED naming the role and the permission.
absl::Status Require(const Principal& principal, Permission permission);

// "lethe_" + 43 base64url characters (256 random bits from the OS).
std::string GenerateTokenSecret();
// SHA-256 of the secret, hex.
std::string HashTokenSecret(std::string_view secret);
// Extracts the token from an `authorization` metadata value "Bearer <token>" (scheme
// case-insensitive). UNAUTHENTICATED with a precise message otherwise.
absl::StatusOr<std::string> ParseBearer(std::string_view header);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Random bytes from the OS (getrandom); aborts only if the kernel cannot provide them.
std::string RandomBytes(size_t n);
std::string Base64UrlEncode(std::string_view data);
// False on characters outside the base64url alphabet or a bad length.
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace lethe
