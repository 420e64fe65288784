// get, list, watch, cancel, extend: reading and steering forget requests.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/format.h"
#include "client/progress.h"
#include "client/rpc_error.h"

namespace lethe::cli {
namespace {

using lethe::v1::ForgetRequest;

// The stream of `watch` lives as long as the request runs; --timeout overrides this.
constexpr double kWatchDefaultSeconds = 7 * 24 * 3600;
constexpr int kWatchBarWidth = 24;

int PrintRequest(CommandContext& ctx, const ForgetRequest& r) {
  ctx.out() << (ctx.json ? MessageToJson(r) : FormatRequestDetail(r));
  return kExitOk;
}

int RunGet(CommandContext& ctx) {
  lethe::v1::GetForgetRequestRequest req;
  req.set_id(ctx.args.positionals()[0]);
  ForgetRequest reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.unlearning().GetForgetRequest(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  return PrintRequest(ctx, reply);
}

const std::vector<std::pair<std::string, int>>& StateChoices() {
  static const auto* choices = new std::vector<std::pair<std::string, int>>{
      {"received", lethe::v1::REQUEST_STATE_RECEIVED},
      {"queued", lethe::v1::REQUEST_STATE_QUEUED},
      {"running", lethe::v1::REQUEST_STATE_RUNNING},
      {"completed", lethe::v1::REQUEST_STATE_COMPLETED},
      {"failed", lethe::v1::REQUEST_STATE_FAILED},
      {"cancelled", lethe::v1::REQUEST_STATE_CANCELLED},
  };
  return *choices;
}

int RunList(CommandContext& ctx) {
  lethe::v1::ListForgetRequestsRequest req;
  if (ctx.args.Has("state")) {
    absl::StatusOr<int> state = ParseChoice("--state", ctx.args.Get("state"), StateChoices());
    if (!state.ok()) return ctx.Usage(std::string(state.status().message()));
    req.set_state(static_cast<lethe::v1::RequestState>(*state));
  }
  req.set_model(ctx.args.Get("model"));
  req.set_requester(ctx.args.Get("requester"));
  if (ctx.args.Has("page-size")) {
    absl::StatusOr<int64_t> n = ParseIntFlag("--page-size", ctx.args.Get("page-size"), 1, 500);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_page_size(static_cast<int32_t>(*n));
  }
  req.set_page_token(ctx.args.Get("page-token"));
  const bool all = ctx.args.Has("all");

  lethe::v1::ListForgetRequestsResponse merged;
  std::set<std::string> seen_tokens;
  while (true) {
    lethe::v1::ListForgetRequestsResponse page;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.unlearning().ListForgetRequests(context.get(), req, &page);
    if (!status.ok()) return ctx.RpcFailure(status);
    for (auto& r : *page.mutable_forget_requests()) *merged.add_forget_requests() = std::move(r);
    merged.set_next_page_token(page.next_page_token());
    if (!all || page.next_page_token().empty()) break;
    if (!seen_tokens.insert(page.next_page_token()).second) {
      return ctx.Fail(kExitFailure, "the server repeated a page token; stopping");
    }
    req.set_page_token(page.next_page_token());
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(merged);
  } else {
    std::vector<ForgetRequest> rows(merged.forget_requests().begin(),
                                    merged.forget_requests().end());
    ctx.out() << FormatRequestList(rows);
    if (!merged.next_page_token().empty()) {
      ctx.Note(
          absl::StrCat("more requests: --page-token ", merged.next_page_token(), " (or --all)"));
    }
  }
  return kExitOk;
}

bool IsTerminal(lethe::v1::RequestState s) {
  return s == lethe::v1::REQUEST_STATE_COMPLETED || s == lethe::v1::REQUEST_STATE_FAILED ||
         s == lethe::v1::REQUEST_STATE_CANCELLED;
}

bool Retryable(grpc::StatusCode code) { return code == grpc::StatusCode::UNAVAILABLE; }

int RunWatch(CommandContext& ctx) {
  lethe::v1::WatchForgetRequestRequest req;
  req.set_id(ctx.args.positionals()[0]);
  const double start = ctx.io.now();
  const double budget = ctx.rpc.timeout_seconds().value_or(kWatchDefaultSeconds);
  const bool tty = ctx.io.out_is_tty && !ctx.json;
  EtaEstimator eta;
  ForgetRequest last;
  bool have_last = false;
  std::string open_line;  // TTY: the line being redrawn
  std::string last_printed;
  lethe::v1::RequestState line_state = lethe::v1::REQUEST_STATE_UNSPECIFIED;
  lethe::v1::Phase line_phase = lethe::v1::PHASE_UNSPECIFIED;
  double printed_fraction = 0, printed_at = 0;  // not a TTY: the last line's progress and time
  double backoff = 0.5;

  auto show = [&](const ForgetRequest& r) {
    if (ctx.json) return;
    if (r.state() == lethe::v1::REQUEST_STATE_RUNNING) {
      eta.Observe(r.progress().phase(), r.progress().fraction(), ctx.io.now());
    }
    std::optional<double> left =
        r.state() == lethe::v1::REQUEST_STATE_RUNNING ? eta.SecondsLeft() : std::nullopt;
    std::string line = FormatWatchLine(r, left, tty ? kWatchBarWidth : 0);
    if (tty) {
      // A new state or phase keeps the finished line and starts the next one.
      if (!open_line.empty() && (r.state() != line_state || r.progress().phase() != line_phase)) {
        ctx.out() << "\n";
      }
      ctx.out() << "\r\x1b[K" << line << std::flush;
      open_line = line;
      line_state = r.state();
      line_phase = r.progress().phase();
    } else if (line != last_printed) {
      // Logs get a line per state or phase, then one per 5 points of progress or 30 s:
      // not one per iteration or ETA change.
      const double now = ctx.io.now();
      const bool moved = r.state() != line_state || r.progress().phase() != line_phase ||
                         std::abs(r.progress().fraction() - printed_fraction) >= 0.05 ||
                         now - printed_at >= 30;
      if (!moved) return;
      ctx.out() << line << "\n" << std::flush;
      last_printed = line;
      line_state = r.state();
      line_phase = r.progress().phase();
      printed_fraction = r.progress().fraction();
      printed_at = now;
    }
  };

  while (true) {
    double remaining = budget - (ctx.io.now() - start);
    if (remaining <= 0) {
      if (!open_line.empty()) ctx.out() << "\n";
      return ctx.Fail(kExitUnavailable,
                      "DEADLINE_EXCEEDED: stopped watching (the request "
                      "goes on; watch again to follow it)");
    }
    auto context = ctx.rpc.ContextWithDeadline(remaining);
    std::unique_ptr<grpc::ClientReaderInterface<ForgetRequest>> reader =
        ctx.rpc.unlearning().WatchForgetRequest(context.get(), req);
    ForgetRequest update;
    bool got_any = false;
    while (reader->Read(&update)) {
      got_any = true;
      last = update;
      have_last = true;
      show(update);
    }
    grpc::Status status = reader->Finish();
    if (have_last && IsTerminal(last.state())) break;
    if (status.ok() || Retryable(status.error_code())) {
      // The server went away (restart, load balancer) before the request ended: resume.
      if (got_any) backoff = 0.5;
      ctx.io.sleep(std::min(backoff, std::max(0.0, budget - (ctx.io.now() - start))));
      backoff = std::min(backoff * 2, 10.0);
      continue;
    }
    if (!open_line.empty()) ctx.out() << "\n";
    return ctx.RpcFailure(status);
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(last);
  } else if (tty) {
    ctx.out() << "\n";
  }
  switch (last.state()) {
    case lethe::v1::REQUEST_STATE_COMPLETED:
      return kExitOk;
    case lethe::v1::REQUEST_STATE_CANCELLED:
      return kExitRequestCancelled;
    default:
      return kExitRequestFailed;
  }
}

int RunCancel(CommandContext& ctx) {
  lethe::v1::CancelForgetRequestRequest req;
  req.set_id(ctx.args.positionals()[0]);
  req.set_reason(ctx.args.Get("reason"));
  ForgetRequest reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.unlearning().CancelForgetRequest(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  return PrintRequest(ctx, reply);
}

int RunExtend(CommandContext& ctx) {
  lethe::v1::ExtendDeadlineRequest req;
  req.set_id(ctx.args.positionals()[0]);
  if (!ctx.args.Has("days")) return ctx.Usage("--days is required");
  absl::StatusOr<int64_t> days = ParseIntFlag("--days", ctx.args.Get("days"), 1, 60);
  if (!days.ok()) return ctx.Usage(std::string(days.status().message()));
  req.set_extra_days(static_cast<int32_t>(*days));
  if (ctx.args.Get("reason").empty()) return ctx.Usage("--reason is required");
  req.set_reason(ctx.args.Get("reason"));
  ForgetRequest reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.unlearning().ExtendDeadline(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  return PrintRequest(ctx, reply);
}

}  // namespace

std::vector<CommandDef> RequestCommands() {
  return {
      {{"get"},
       "ID",
       "show a forget request with its items, progress and result",
       {},
       1,
       1,
       RunGet},
      {{"list"},
       "[flags]",
       "list forget requests, newest first",
       {{"state", FlagKind::kValue, "S", "received|queued|running|completed|failed|cancelled"},
        {"model", FlagKind::kValue, "M", "only this model"},
        {"requester", FlagKind::kValue, "R", "only requests of this token name"},
        {"page-size", FlagKind::kValue, "N", "requests per page, [1, 500]"},
        {"page-token", FlagKind::kValue, "T", "continue from a previous page"},
        {"all", FlagKind::kBool, "", "follow every page"}},
       0,
       0,
       RunList},
      {{"watch"},
       "ID",
       "follow a request until it ends (exit 0 completed, 10 failed, 11 cancelled)",
       {},
       1,
       1,
       RunWatch},
      {{"cancel"},
       "ID [--reason TEXT]",
       "cancel a request (a running one stops at its next check)",
       {{"reason", FlagKind::kValue, "TEXT", "why, for the audit log"}},
       1,
       1,
       RunCancel},
      {{"extend"},
       "ID --days N --reason TEXT",
       "move a request's GDPR due date (operator/admin)",
       {{"days", FlagKind::kValue, "N", "extra days, [1, 60]"},
        {"reason", FlagKind::kValue, "TEXT", "justification (recorded and audited)"}},
       1,
       1,
       RunExtend},
  };
}

}  // namespace lethe::cli
