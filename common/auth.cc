#include "common/auth.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "engine/base/sha256.h"

namespace lethe {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kDpo:
      return "dpo";
    case Role::kService:
      return "service";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "dpo") return Role::kDpo;
  if (lower == "service") return Role::kService;
  if (lower == "operator") return Role::kOperator;
  if (lower == "admin") return Role::kAdmin;
  return InvalidField("role",
                      absl::StrCat("unknown role \"", std::string(name),
                                   "\" (expected dpo, service, operator or admin)"),
                      "INVALID_ROLE");
}

std::string Principal::Actor() const { return absl::StrCat("token:", token_id, ":", name); }

const char* PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kSubmitRequest:
      return "submit forget requests";
    case Permission::kReadOwnRequests:
      return "read its own forget requests";
    case Permission::kReadAllRequests:
      return "read all forget requests";
    case Permission::kCancelOwnRequests:
      return "cancel its own forget requests";
    case Permission::kCancelAllRequests:
      return "cancel any forget request";
    case Permission::kExtendDeadline:
      return "extend deadlines";
    case Permission::kReadModels:
      return "read models";
    case Permission::kRegisterModel:
      return "register models";
    case Permission::kReadOwnAudit:
      return "read the audit records of its own requests";
    case Permission::kReadAllAudit:
      return "read all audit records";
    case Permission::kVerifyAudit:
      return "verify the audit chain";
    case Permission::kManageTokens:
      return "manage API tokens";
  }
  return "unknown";
}

bool RoleHas(Role role, Permission p) {
  using P = Permission;
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kOperator:
      return p == P::kReadOwnRequests || p == P::kReadAllRequests || p == P::kExtendDeadline ||
             p == P::kReadModels || p == P::kRegisterModel || p == P::kReadOwnAudit ||
             p == P::kReadAllAudit || p == P::kVerifyAudit;
    case Role::kDpo:
      return p == P::kSubmitRequest || p == P::kReadOwnRequests || p == P::kCancelOwnRequests ||
             p == P::kReadModels || p == P::kReadOwnAudit || p == P::kVerifyAudit;
    case Role::kService:
      return p == P::kSubmitRequest || p == P::kReadOwnRequests || p == P::kReadModels;
  }
  return false;
}

absl::Status Require(const Principal& principal, Permission permission) {
  if (RoleHas(principal.role, permission)) return absl::OkStatus();
  return MakeError(
      absl::StatusCode::kPermissionDenied, "ROLE_NOT_ALLOWED",
      absl::StrCat("token \"", principal.name, "\" has role ", RoleName(principal.role),
                   ", which may not ", PermissionName(permission)),
      {{"role", RoleName(principal.role)}});
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy source: nothing secure can be done
    }
    got += size_t(r);
  }
  return out;
}

namespace {
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
    out += kB64Url[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint8_t(data[i]) << 16;
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(char((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero for a canonical encoding.
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string GenerateTokenSecret() { return "lethe_" + Base64UrlEncode(RandomBytes(32)); }

std::string HashTokenSecret(std::string_view secret) { return Sha256Hex(secret); }

absl::StatusOr<std::string> ParseBearer(std::string_view header) {
  auto fail = [](const std::string& msg) {
    return MakeError(absl::StatusCode::kUnauthenticated, "BAD_AUTHORIZATION_HEADER", msg);
  };
  if (header.empty()) {
    return MakeError(absl::StatusCode::kUnauthenticated, "MISSING_TOKEN",
                     "missing bearer token: send metadata \"authorization: Bearer <token>\"");
  }
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      absl::AsciiStrToLower(std::string(header.substr(0, kScheme.size()))) != kScheme) {
    return fail("authorization metadata must be \"Bearer <token>\"");
  }
  std::string token(header.substr(kScheme.size()));
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.erase(0, 1);
  if (token.empty() || token.size() > 512) return fail("bearer token is empty or too long");
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail("bearer token contains invalid characters");
    }
  }
  return token;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i]) ^ uint8_t(b[i]);
  return diff == 0;
}

}  // namespace lethe
