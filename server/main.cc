// lethe-server: the gRPC front end of Lethe.
//   lethe-server [serve] [flags]       serve (applies pending migrations unless --no-migrate)
//   lethe-server migrate [flags]       apply pending migrations and exit
//   lethe-server token create --role ROLE --name NAME   print a new token's secret once
//   lethe-server token revoke --id ID
//   lethe-server token list
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/db.h"
#include "common/flag_set.h"
#include "common/logging.h"
#include "common/migrations.h"
#include "server/protobuf_log.h"
#include "server/server.h"
#include "server/server_config.h"
#include "server/token_service.h"

namespace lethe {
namespace {

constexpr char kUsage[] =
    "usage: lethe-server [serve] [flags]\n"
    "       lethe-server migrate [flags]\n"
    "       lethe-server token create --role dpo|service|operator|admin --name NAME [flags]\n"
    "       lethe-server token revoke --id ID [flags]\n"
    "       lethe-server token list [flags]\n"
    "\n"
    "Serves the Lethe gRPC API (Unlearning, Models, Audit, Tokens, grpc.health.v1, server\n"
    "reflection) with bearer-token auth. Without --database-url it starts a private\n"
    "PostgreSQL cluster under STATE_DIR/pg via scripts/pg-cluster. Pending schema\n"
    "migrations are applied at start unless --no-migrate. `token create` bootstraps the\n"
    "first admin token: the secret is printed once and only its SHA-256 is stored.\n"
    "SIGTERM/SIGINT stop accepting calls and drain in-flight ones (--shutdown-grace-s).";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "lethe-server: %s\n", msg.c_str());
  return 2;
}

int RunServe(const ServerConfig& config, Logger& log) {
  // Handle SIGTERM/SIGINT on a dedicated thread: block them everywhere first, so every
  // thread the server starts inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = LetheServer::Start(config, &log);
  if (!server.ok()) {
    log.Error("cannot start", {{"error", std::string(server.status().message())}});
    return 1;
  }
  // The chosen port on stdout, for scripts and tests that pass port 0.
  std::printf("listening on port %d\n", (*server)->port());
  std::fflush(stdout);
  LetheServer* srv = server->get();
  std::thread waiter([&signals, srv, &log] {
    int sig = 0;
    sigwait(&signals, &sig);
    log.Info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    srv->Shutdown();
  });
  srv->Wait();
  // Shutdown came from somewhere other than a signal: wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  server->reset();
  return 0;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectForTool(const ServerConfig& config,
                                                                 Logger& log) {
  auto url = ResolveDatabaseUrl(config, &log);
  if (!url.ok()) return url.status();
  return OpenConnection(DbOptionsFor(config, *url));
}

int RunMigrate(const ServerConfig& config, Logger& log) {
  auto conn = ConnectForTool(config, log);
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  auto report = ApplyMigrations(**conn, EmbeddedMigrations(), &log);
  if (!report.ok()) return Fail(std::string(report.status().message()));
  std::printf("migrations: %d applied, %d already applied, schema version %d\n", report->applied,
              report->already_applied, report->latest_version);
  return 0;
}

int RunToken(const std::string& action, const ServerConfig& config, Logger& log,
             const std::string& role_name, const std::string& name, int64_t id) {
  auto conn = ConnectForTool(config, log);
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  auto migrated = ApplyMigrations(**conn, EmbeddedMigrations(), &log);
  if (!migrated.ok()) return Fail(std::string(migrated.status().message()));
  try {
    if (action == "create") {
      auto role = ParseRole(role_name);
      if (!role.ok()) return Fail(std::string(role.status().message()));
      pqxx::work tx(**conn);
      auto created = CreateTokenInTransaction(tx, name, *role, "cli");
      if (!created.ok()) return Fail(std::string(created.status().message()));
      tx.commit();
      std::fprintf(stderr, "created token %lld (%s, role %s); the secret is shown only once:\n",
                   static_cast<long long>(created->token.id()), name.c_str(), RoleName(*role));
      std::printf("%s\n", created->secret.c_str());
      return 0;
    }
    if (action == "revoke") {
      pqxx::work tx(**conn);
      auto revoked = RevokeTokenInTransaction(tx, id, "cli");
      if (!revoked.ok()) return Fail(std::string(revoked.status().message()));
      tx.commit();
      std::printf("revoked token %lld (%s)\n", static_cast<long long>(id), revoked->name().c_str());
      return 0;
    }
    if (action == "list") {
      pqxx::read_transaction tx(**conn);
      for (const auto& row :
           tx.exec("SELECT id, name, role, created_at, "
                   "COALESCE(revoked_at::text, '-') FROM api_tokens ORDER BY id")) {
        std::printf("%s\t%s\t%s\t%s\t%s\n", row[0].c_str(), row[1].c_str(), row[2].c_str(),
                    row[3].c_str(), row[4].c_str());
      }
      return 0;
    }
  } catch (const std::exception& e) {
    return Fail(std::string(StatusFromDbException(e, "token").message()));
  }
  return Fail("token needs create, revoke or list");
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = "serve";
  std::string token_action;
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    command = args[0];
    args.erase(args.begin());
    if (command == "token") {
      if (args.empty() || args[0].rfind("--", 0) == 0) {
        return Fail("token needs create, revoke or list (see --help)");
      }
      token_action = args[0];
      args.erase(args.begin());
    }
  }
  if (command != "serve" && command != "migrate" && command != "token") {
    return Fail(absl::StrCat("unknown command \"", command, "\" (see --help)"));
  }
  ServerConfig config;
  FlagSet flags(kUsage);
  config.RegisterFlags(flags);
  std::string role, name;
  int64_t id = 0;
  if (command == "token") {
    flags.AddString("role", "", &role, "token create: dpo, service, operator or admin");
    flags.AddString("name", "", &name, "token create: the token's name");
    flags.AddInt("id", "", &id, "token revoke: the token's id");
  }
  absl::Status parsed = flags.Parse(args, nullptr);
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  if (!parsed.ok()) return Fail(std::string(parsed.message()));
  LogLevel level = LogLevel::kInfo;
  if (!ParseLogLevel(config.log_level, &level)) {
    return Fail(absl::StrCat("--log-level \"", config.log_level, "\" is not valid"));
  }
  Logger log("lethe-server", level);
  ProtobufLogRedirect protobuf_log(&log);
  if (command == "serve") {
    absl::Status valid = config.Validate();
    if (!valid.ok()) return Fail(std::string(valid.message()));
    return RunServe(config, log);
  }
  if (command == "migrate") return RunMigrate(config, log);
  return RunToken(token_action, config, log, role, name, id);
}

}  // namespace
}  // namespace lethe

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return lethe::Main(argc, argv);
}
