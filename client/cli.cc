#include "client/cli.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/rpc_error.h"

namespace lethe::cli {
namespace {

std::string CommandName(const CommandDef& c) { return absl::StrJoin(c.words, " "); }

std::string GeneralHelp(const std::vector<CommandDef>& commands) {
  std::string out =
      "lethectl: the command-line client of Lethe, the service that makes a hosted GAN "
      "forget training images.\n\nusage: lethectl COMMAND [ARGS] [FLAGS]\n\ncommands:\n";
  size_t width = 0;
  for (const CommandDef& c : commands) width = std::max(width, CommandName(c).size());
  for (const CommandDef& c : commands) {
    std::string name = CommandName(c);
    absl::StrAppend(&out, "  ", name, std::string(width - name.size() + 2, ' '), c.summary, "\n");
  }
  absl::StrAppend(&out, "\nflags of every command:\n", FormatFlagHelp(GlobalFlags()),
                  "\nenvironment: LETHE_SERVER, LETHE_TOKEN, LETHE_TOKEN_FILE, LETHE_TLS_CA, "
                  "LETHE_CLIENT_CERT, LETHE_CLIENT_KEY, LETHE_INSECURE=1 (flags win)\n"
                  "exit status: 0 ok, 1 other error, 2 usage or invalid argument, 3 not found, "
                  "4 permission denied or unauthenticated, 5 conflict (already exists, failed "
                  "precondition), 6 unavailable or deadline exceeded (retry), 7 audit chain "
                  "broken, 8 integrity (a file does not match its recorded SHA-256; nothing "
                  "is kept), 10 watched request failed, 11 watched request cancelled\n"
                  "\n'lethectl COMMAND --help' describes a command.\n");
  return out;
}

std::string CommandHelp(const CommandDef& c) {
  std::string out = absl::StrCat("usage: lethectl ", CommandName(c));
  if (!c.synopsis.empty()) absl::StrAppend(&out, " ", c.synopsis);
  absl::StrAppend(&out, "\n\n", c.summary, "\n");
  if (!c.flags.empty()) absl::StrAppend(&out, "\nflags:\n", FormatFlagHelp(c.flags));
  absl::StrAppend(&out, "\nflags of every command:\n", FormatFlagHelp(GlobalFlags()));
  return out;
}

}  // namespace

std::vector<FlagSpec> GlobalFlags() {
  return {
      {"server", FlagKind::kValue, "HOST:PORT",
       absl::StrCat("server address (LETHE_SERVER; default ", kDefaultServer, ")")},
      {"token", FlagKind::kValue, "SECRET", "API token (LETHE_TOKEN)"},
      {"token-file", FlagKind::kValue, "FILE", "read the API token from a file (LETHE_TOKEN_FILE)"},
      {"tls-ca", FlagKind::kValue, "PEM", "CA certificate of the server (LETHE_TLS_CA)"},
      {"tls-cert", FlagKind::kValue, "PEM",
       "client certificate for mutual TLS (LETHE_CLIENT_CERT)"},
      {"tls-key", FlagKind::kValue, "PEM", "its private key (LETHE_CLIENT_KEY)"},
      {"tls-server-name", FlagKind::kValue, "NAME", "name to check in the server's certificate"},
      {"insecure", FlagKind::kBool, "", "plaintext, no TLS: loopback demos only (LETHE_INSECURE)"},
      {"timeout", FlagKind::kValue, "DURATION",
       "deadline of each call, e.g. 30s, 2m (default 30s; downloads 10m, watch 7 days)"},
      {"json", FlagKind::kBool, "", "print one JSON document instead of tables"},
      {"help", FlagKind::kBool, "", "describe the command"},
  };
}

std::vector<CommandDef> AllCommands() {
  std::vector<CommandDef> all;
  for (auto group :
       {SubmitCommands(), RequestCommands(), ModelCommands(), AuditCommands(), TokenCommands()}) {
    for (auto& c : group) all.push_back(std::move(c));
  }
  return all;
}

int RunCli(const std::vector<std::string>& args, Io& io, const EnvLookup& env,
           const ChannelFactory& open_channel) {
  const std::vector<CommandDef> commands = AllCommands();
  const std::vector<FlagSpec> globals = GlobalFlags();
  std::ostream& err = *io.err;

  if (args.empty()) {
    err << GeneralHelp(commands);
    return kExitUsage;
  }
  if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (!rest.empty()) {
      std::vector<std::vector<std::string>> words;
      for (const CommandDef& c : commands) words.push_back(c.words);
      absl::StatusOr<ResolvedCommand> which = ResolveCommand(words, globals, rest);
      if (which.ok()) {
        *io.out << CommandHelp(commands[which->index]);
        return kExitOk;
      }
    }
    *io.out << GeneralHelp(commands);
    return kExitOk;
  }

  std::vector<std::vector<std::string>> words;
  for (const CommandDef& c : commands) words.push_back(c.words);
  absl::StatusOr<ResolvedCommand> which = ResolveCommand(words, globals, args);
  if (!which.ok()) {
    err << "lethectl: " << which.status().message() << " (see 'lethectl help')\n";
    return kExitUsage;
  }
  const CommandDef& command = commands[which->index];
  std::vector<FlagSpec> specs = command.flags;
  specs.insert(specs.end(), globals.begin(), globals.end());
  absl::StatusOr<ParsedArgs> parsed = ParseFlags(specs, which->rest);
  if (!parsed.ok()) {
    err << "lethectl " << CommandName(command) << ": " << parsed.status().message()
        << " (see 'lethectl " << CommandName(command) << " --help')\n";
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    *io.out << CommandHelp(command);
    return kExitOk;
  }
  const size_t n = parsed->positionals().size();
  if (n < command.min_positionals || n > command.max_positionals) {
    err << "lethectl " << CommandName(command) << ": ";
    if (n < command.min_positionals) {
      err << "missing argument";
    } else {
      err << "unexpected argument '" << parsed->positionals()[command.max_positionals] << "'";
    }
    err << "\nusage: lethectl " << CommandName(command) << " " << command.synopsis << "\n";
    return kExitUsage;
  }

  absl::StatusOr<ConnectionOptions> conn = ResolveConnectionOptions(*parsed, env, ReadLocalFile);
  if (!conn.ok()) {
    err << "lethectl: " << conn.status().message() << "\n";
    return conn.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (conn->insecure && !conn->token.empty() && !IsLoopbackTarget(conn->server)) {
    err << "lethectl: warning: sending the API token without TLS to " << conn->server << "\n";
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelInterface>> channel = open_channel(*conn);
  if (!channel.ok()) {
    err << "lethectl: " << channel.status().message() << "\n";
    return kExitUsage;
  }
  Rpc rpc(*channel, conn->token, conn->timeout_seconds);
  CommandContext ctx{*parsed, io, rpc, parsed->Has("json"), conn->server, CommandName(command)};
  return command.run(ctx);
}

}  // namespace lethe::cli
