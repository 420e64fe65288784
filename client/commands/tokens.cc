// token create|revoke|list, whoami.
#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/format.h"
#include "client/rpc_error.h"

namespace lethe::cli {
namespace {

int RunTokenCreate(CommandContext& ctx) {
  lethe::v1::CreateTokenRequest req;
  if (ctx.args.Get("name").empty()) return ctx.Usage("--name is required");
  if (!ctx.args.Has("role")) return ctx.Usage("--role is required");
  absl::StatusOr<int> role = ParseChoice("--role", ctx.args.Get("role"),
                                         {{"dpo", lethe::v1::ROLE_DPO},
                                          {"service", lethe::v1::ROLE_SERVICE},
                                          {"operator", lethe::v1::ROLE_OPERATOR},
                                          {"admin", lethe::v1::ROLE_ADMIN}});
  if (!role.ok()) return ctx.Usage(std::string(role.status().message()));
  req.set_name(ctx.args.Get("name"));
  req.set_role(static_cast<lethe::v1::Role>(*role));
  lethe::v1::CreateTokenResponse reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.tokens().CreateToken(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  if (ctx.json) {
    ctx.out() << MessageToJson(reply);
  } else {
    ctx.out() << FormatTokenDetail(reply.token(), reply.secret());
    ctx.Note("the secret is shown once; store it now (e.g. LETHE_TOKEN or --token-file)");
  }
  return kExitOk;
}

int RunTokenRevoke(CommandContext& ctx) {
  lethe::v1::RevokeTokenRequest req;
  absl::StatusOr<int64_t> id = ParseIntFlag("token id", ctx.args.positionals()[0], 1, INT64_MAX);
  if (!id.ok()) return ctx.Usage(std::string(id.status().message()));
  req.set_id(*id);
  lethe::v1::ApiToken reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.tokens().RevokeToken(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatTokenDetail(reply));
  return kExitOk;
}

int RunTokenList(CommandContext& ctx) {
  lethe::v1::ListTokensRequest req;
  req.set_include_revoked(ctx.args.Has("include-revoked"));
  req.set_page_size(1000);
  lethe::v1::ListTokensResponse merged;
  for (int pages = 0;; ++pages) {
    lethe::v1::ListTokensResponse page;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.tokens().ListTokens(context.get(), req, &page);
    if (!status.ok()) return ctx.RpcFailure(status);
    for (auto& t : *page.mutable_tokens()) *merged.add_tokens() = std::move(t);
    if (page.next_page_token().empty() || page.next_page_token() == req.page_token() ||
        pages > 10000) {
      break;
    }
    req.set_page_token(page.next_page_token());
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(merged);
  } else {
    ctx.out() << FormatTokenList({merged.tokens().begin(), merged.tokens().end()});
  }
  return kExitOk;
}

int RunWhoAmI(CommandContext& ctx) {
  lethe::v1::WhoAmIRequest req;
  lethe::v1::ApiToken reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.tokens().WhoAmI(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatTokenDetail(reply));
  return kExitOk;
}

}  // namespace

std::vector<CommandDef> TokenCommands() {
  return {
      {{"token", "create"},
       "--name N --role dpo|service|operator|admin",
       "create an API token; prints its secret once (admin)",
       {{"name", FlagKind::kValue, "N", "unique name of the token's holder"},
        {"role", FlagKind::kValue, "R", "dpo|service|operator|admin"}},
       0,
       0,
       RunTokenCreate},
      {{"token", "revoke"}, "ID", "revoke a token (admin)", {}, 1, 1, RunTokenRevoke},
      {{"token", "list"},
       "[--include-revoked]",
       "list API tokens (admin)",
       {{"include-revoked", FlagKind::kBool, "", "show revoked tokens too"}},
       0,
       0,
       RunTokenList},
      {{"whoami"}, "", "describe the token in use", {}, 0, 0, RunWhoAmI},
  };
}

}  // namespace lethe::cli
