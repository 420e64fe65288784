#include "server/embedded_postgres.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"

#ifndef LETHE_SOURCE_DIR
#define LETHE_SOURCE_DIR ""
#endif

namespace lethe {
namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::string> FindPgClusterScript(const std::string& configured) {
  if (!configured.empty()) {
    if (::access(configured.c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat("--pg-cluster-script ", configured, " is not an executable file"));
    }
    return configured;
  }
  std::vector<std::string> candidates;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = exe.parent_path();
    for (int up = 0; up < 4 && !dir.empty(); ++up) {
      candidates.push_back((dir / "scripts" / "pg-cluster").string());
      candidates.push_back((dir / "share" / "lethe" / "pg-cluster").string());
      dir = dir.parent_path();
    }
  }
  if (std::string(LETHE_SOURCE_DIR).size() > 0) {
    candidates.push_back(std::string(LETHE_SOURCE_DIR) + "/scripts/pg-cluster");
  }
  for (const std::string& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return absl::NotFoundError(
      "no database URL is configured and scripts/pg-cluster was not found; set "
      "--database-url (LETHE_DATABASE_URL) or --pg-cluster-script (LETHE_PG_CLUSTER_SCRIPT)");
}

absl::StatusOr<std::string> StartEmbeddedPostgres(const std::string& script,
                                                  const std::string& dir) {
  try {
    MakeDirs(dir);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(e.what());
  }
  std::string cmd = absl::StrCat(ShellQuote(script), " start ", ShellQuote(dir));
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return absl::InternalError(absl::StrCat("cannot run ", script));
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  size_t nl = out.rfind('\n');
  std::string url = nl == std::string::npos ? out : out.substr(nl + 1);
  if (rc != 0 || url.rfind("postgresql://", 0) != 0) {
    return absl::UnavailableError(absl::StrCat("starting the private PostgreSQL cluster with `",
                                               cmd, "` failed (exit ", WEXITSTATUS(rc),
                                               "): ", out));
  }
  return url;
}

}  // namespace lethe
