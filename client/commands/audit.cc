// audit list|verify|export.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/format.h"
#include "client/report.h"
#include "client/rpc_error.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe::cli {
namespace {

// Verification walks the whole chain; give it more time than a plain read.
constexpr double kVerifyDefaultSeconds = 300;

// Every page of ListAuditRecords for `req`.
grpc::Status ListAllRecords(CommandContext& ctx, lethe::v1::ListAuditRecordsRequest req,
                            bool all_pages, lethe::v1::ListAuditRecordsResponse* merged) {
  for (int pages = 0;; ++pages) {
    lethe::v1::ListAuditRecordsResponse page;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.audit().ListAuditRecords(context.get(), req, &page);
    if (!status.ok()) return status;
    for (auto& r : *page.mutable_records()) *merged->add_records() = std::move(r);
    merged->set_next_page_token(page.next_page_token());
    if (!all_pages || page.next_page_token().empty() ||
        page.next_page_token() == req.page_token() || pages > 100000) {
      return grpc::Status::OK;
    }
    req.set_page_token(page.next_page_token());
  }
}

int RunAuditList(CommandContext& ctx) {
  lethe::v1::ListAuditRecordsRequest req;
  req.set_request_id(ctx.args.Get("request"));
  req.set_action(ctx.args.Get("action"));
  if (ctx.args.Has("after-seq")) {
    absl::StatusOr<int64_t> n =
        ParseIntFlag("--after-seq", ctx.args.Get("after-seq"), 0, INT64_MAX);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_after_seq(*n);
  }
  if (ctx.args.Has("page-size")) {
    absl::StatusOr<int64_t> n = ParseIntFlag("--page-size", ctx.args.Get("page-size"), 1, 1000);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_page_size(static_cast<int32_t>(*n));
  }
  req.set_page_token(ctx.args.Get("page-token"));
  lethe::v1::ListAuditRecordsResponse merged;
  grpc::Status status = ListAllRecords(ctx, req, ctx.args.Has("all"), &merged);
  if (!status.ok()) return ctx.RpcFailure(status);
  if (ctx.json) {
    ctx.out() << MessageToJson(merged);
  } else {
    ctx.out() << FormatAuditList({merged.records().begin(), merged.records().end()});
    if (!merged.next_page_token().empty()) {
      ctx.Note(
          absl::StrCat("more records: --page-token ", merged.next_page_token(), " (or --all)"));
    }
  }
  return kExitOk;
}

int RunAuditVerify(CommandContext& ctx) {
  lethe::v1::VerifyAuditChainRequest req;
  lethe::v1::VerifyAuditChainResponse reply;
  auto context = ctx.rpc.Context(kVerifyDefaultSeconds);
  grpc::Status status = ctx.rpc.audit().VerifyAuditChain(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatAuditVerification(reply));
  return reply.ok() ? kExitOk : kExitAuditBroken;
}

std::string NowRfc3339() {
  google::protobuf::Timestamp ts;
  ts.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count());
  return FormatTimestamp(ts);
}

int RunAuditExport(CommandContext& ctx) {
  const std::string id = ctx.args.positionals()[0];
  const std::string dir = ctx.args.Get("out");
  if (dir.empty()) return ctx.Usage("--out DIR is required");

  ReportInputs in;
  in.generated_at = NowRfc3339();
  in.server = ctx.server;
  {
    lethe::v1::GetForgetRequestRequest req;
    req.set_id(id);
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.unlearning().GetForgetRequest(context.get(), req, &in.request);
    if (!status.ok()) return ctx.RpcFailure(status);
  }
  {
    lethe::v1::GetModelRequest req;
    req.set_name(in.request.model());
    lethe::v1::Model model;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.models().GetModel(context.get(), req, &model);
    if (status.ok()) {
      in.model = std::move(model);
    } else {
      in.model_error = FormatRpcError(status);
    }
  }
  {
    lethe::v1::ListAuditRecordsRequest req;
    req.set_request_id(in.request.id());
    req.set_page_size(1000);
    lethe::v1::ListAuditRecordsResponse records;
    grpc::Status status = ListAllRecords(ctx, req, true, &records);
    if (!status.ok()) return ctx.RpcFailure(status);
    in.records.assign(records.records().begin(), records.records().end());
  }
  {
    lethe::v1::VerifyAuditChainRequest req;
    lethe::v1::VerifyAuditChainResponse reply;
    auto context = ctx.rpc.Context(kVerifyDefaultSeconds);
    grpc::Status status = ctx.rpc.audit().VerifyAuditChain(context.get(), req, &reply);
    if (status.ok()) {
      in.chain = reply;
    } else {
      in.chain_error = FormatRpcError(status);
    }
  }
  // The grid is fetched before anything is written: a grid that fails verification stops
  // the export with nothing on disk.
  std::string grid_png;
  const int64_t result_version = in.request.result().model_version_id();
  if (result_version == 0) {
    in.grid_note = absl::StrCat("the request produced no model version (state ",
                                StateName(in.request.state()), ")");
  } else {
    lethe::v1::SampleRequest req;
    req.set_model(in.request.model());
    req.set_version_id(result_version);
    lethe::v1::SampleResponse reply;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.models().Sample(context.get(), req, &reply);
    if (status.error_code() == grpc::StatusCode::DATA_LOSS) {
      // The server refused a stored grid that does not match its recorded hash: evidence
      // that does not verify is not exported.
      return ctx.RpcFailure(status);
    }
    if (status.ok() && !reply.png().empty()) {
      std::string sha = Sha256Hex(reply.png());
      if (!reply.sha256().empty() && sha != reply.sha256()) {
        return ctx.Fail(kExitIntegrity, absl::StrCat("sample grid: sha256 mismatch (expected ",
                                                     reply.sha256(), ", got ", sha, ")"));
      }
      grid_png = std::move(*reply.mutable_png());
      in.grid_file = "grid.png";
      in.grid_sha256 = sha;
      in.grid_version_id = reply.version_id();
    } else {
      in.grid_note = status.ok() ? "the server returned an empty sample" : FormatRpcError(status);
    }
  }

  try {
    MakeDirs(dir);
  } catch (const lethe::Error& e) {
    return ctx.Fail(kExitFailure, e.what());
  }
  if (!in.grid_file.empty()) {
    if (absl::Status s = WriteLocalFile(JoinPath(dir, in.grid_file), grid_png); !s.ok()) {
      return ctx.Fail(kExitFailure, std::string(s.message()));
    }
  }
  Json report = BuildReport(in);
  std::string markdown = RenderReportMarkdown(report);
  const std::string json_path = JoinPath(dir, "report.json");
  const std::string md_path = JoinPath(dir, "report.md");
  if (absl::Status s = WriteLocalFile(json_path, report.Dump(2) + "\n"); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  if (absl::Status s = WriteLocalFile(md_path, markdown); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  const bool hashes_ok = report.at("audit").GetBool("all_hashes_match", false);
  const bool chain_ok = !in.chain || in.chain->ok();
  if (ctx.json) {
    Json doc = Json::Object();
    doc["request_id"] = in.request.id();
    doc["dir"] = dir;
    Json files = Json::Array();
    files.Push(Json(json_path));
    files.Push(Json(md_path));
    if (!in.grid_file.empty()) files.Push(Json(JoinPath(dir, in.grid_file)));
    doc["files"] = files;
    doc["audit_records"] = static_cast<int64_t>(in.records.size());
    doc["all_hashes_match"] = hashes_ok;
    doc["chain_verified"] = in.chain ? Json(in.chain->ok()) : Json();
    ctx.out() << doc.Dump(2) << "\n";
  } else {
    ctx.out() << "wrote " << json_path << "\nwrote " << md_path << "\n";
    if (!in.grid_file.empty()) ctx.out() << "wrote " << JoinPath(dir, in.grid_file) << "\n";
    ctx.out() << in.records.size() << " audit record(s), hashes "
              << (hashes_ok ? "recomputed and matching" : "MISMATCHING") << "; chain "
              << (in.chain ? (in.chain->ok() ? "verified" : "BROKEN") : "not verified (no access)")
              << "\n";
  }
  if (!hashes_ok || !chain_ok) {
    return ctx.Fail(kExitAuditBroken, "the audit evidence does not verify; see the report");
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandDef> AuditCommands() {
  return {
      {{"audit", "list"},
       "[flags]",
       "list audit records (DPO/service tokens: --request is required)",
       {{"request", FlagKind::kValue, "ID", "only records of this forget request"},
        {"action", FlagKind::kValue, "A", "only this action, e.g. request.received"},
        {"after-seq", FlagKind::kValue, "N", "only records after this sequence number"},
        {"page-size", FlagKind::kValue, "N", "records per page, [1, 1000]"},
        {"page-token", FlagKind::kValue, "T", "continue from a previous page"},
        {"all", FlagKind::kBool, "", "follow every page"}},
       0,
       0,
       RunAuditList},
      {{"audit", "verify"},
       "",
       "recompute the whole hash chain on the server (exit 7 when broken)",
       {},
       0,
       0,
       RunAuditVerify},
      {{"audit", "export"},
       "ID --out DIR",
       "write a self-contained verification report of one request (report.json, report.md, "
       "grid.png)",
       {{"out", FlagKind::kValue, "DIR", "directory to write into (created)"}},
       1,
       1,
       RunAuditExport},
  };
}

}  // namespace lethe::cli
