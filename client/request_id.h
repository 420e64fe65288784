// Idempotency keys for SubmitForgetRequest. The client chooses the key (a UUID) before the
// first attempt, so a retry after a lost reply returns the same request instead of a
// duplicate.
#pragma once

#include <string>

namespace lethe::cli {

// A random version-4 UUID, lowercase, from the operating system's entropy source.
std::string NewRequestId();
// Canonical 8-4-4-4-12 hex (either case).
bool IsUuid(const std::string& s);

}  // namespace lethe::cli
