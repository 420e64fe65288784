// With no database URL configured, lethe-server runs on a private PostgreSQL cluster under
// STATE_DIR/pg, started through the repository's scripts/pg-cluster (which creates it on
// first use and prints its URL). The cluster keeps running after the server exits; stop
// it with `scripts/pg-cluster stop STATE_DIR/pg`.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace lethe {

// The script to use: `configured` if set, else scripts/pg-cluster found relative to the
// running binary (build tree or install tree) or in the source tree it was built from.
absl::StatusOr<std::string> FindPgClusterScript(const std::string& configured);

// Runs `SCRIPT start DIR` and returns the URL it prints.
absl::StatusOr<std::string> StartEmbeddedPostgres(const std::string& script,
                                                  const std::string& dir);

}  // namespace lethe
